package ingest

import (
	"fmt"
	"math"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// downsample writes zoom z's grid-aligned raster (range to, at dst) from zoom z+1's (range
// from, at src): each pixel from the 2×2 pixels below it, averaged (continuous data) or the
// most frequent value (mode: categorical, mask and rank-ordered data; ties go to the first
// in reading order). Nodata and uncovered pixels (alpha 0) do not count; a pixel with no
// valid child is nodata (alpha 0). It streams strips of rows, so memory stays bounded.
//
// Why not GDAL's warper: for this exact 2:1 case it computes general footprints per pixel
// and measured five times slower than this loop.
func downsample(src, dst string, from, to tile.Range, T int, mode, alpha bool) error {
	if from.Z != to.Z+1 {
		return fmt.Errorf("ingest: downsample zoom %d from zoom %d", to.Z, from.Z)
	}
	in, err := gdal.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Info()
	if err != nil {
		return err
	}
	fw, fh := info.Width, info.Height
	ow, oh := (to.MaxX-to.MinX+1)*T, (to.MaxY-to.MinY+1)*T
	// Finer pixel of coarse pixel i: 2i − off (both offsets are multiples of T, so even).
	offX, offY := from.MinX*T-2*to.MinX*T, from.MinY*T-2*to.MinY*T
	if offX < 0 || offY < 0 {
		return fmt.Errorf("ingest: zoom %d range %+v is not inside the parent range %+v", from.Z, from, to)
	}
	nData := len(info.Bands)
	if alpha {
		nData--
	}
	b0 := info.Bands[0]
	var nd *float64
	if b0.HasNoData {
		v := b0.NoData
		nd = &v
	}
	b := rangeBounds(to)
	px := tile.PixelSize(to.Z, T)
	out, err := gdal.Create(dst, ow, oh, len(info.Bands), b0.Type, [6]float64{b.MinX, px, 0, b.MaxY, 0, -px}, "EPSG:3857", nd, "", warpBlock(T))
	if err != nil {
		return err
	}
	if alpha {
		if err := out.SetAlpha(nData); err != nil {
			out.Close()
			return err
		}
	}
	valid := make([]validity, nData)
	for bi := range valid {
		bin := info.Bands[bi]
		valid[bi] = newValidity(newEmptyTest(bin.Type, bin.HasNoData, bin.NoData))
	}
	werr := func() error {
		// Strips of 512 Ki output pixels (2 Mi finer pixels): measured as fast as larger
		// strips, and the buffers stay small beside the cut tasks running meanwhile.
		rows := max(1, min(oh, (512<<10)/max(ow, 1)))
		var fineBuf, outBuf []byte
		for oy := 0; oy < oh; oy += rows {
			n := min(rows, oh-oy)
			// Finer rows 2·oy−offY … 2·(oy+n)−offY, clipped to the finer raster.
			fy0, fy1 := max(0, 2*oy-offY), min(fh, 2*(oy+n)-offY)
			var fineAlpha, outAlpha []byte
			if alpha {
				outAlpha = make([]byte, ow*n)
				if fy1 > fy0 {
					a := raster.New(raster.Byte, fw, fy1-fy0)
					if err := in.ReadBand(nData, 0, fy0, fw, fy1-fy0, a, gdal.Nearest); err != nil {
						return err
					}
					fineAlpha = a.Data
				}
			}
			g := grid2x2{fw: fw, fy0: fy0, fy1: fy1, offX: offX, offY: offY, ow: ow, oy: oy, n: n, fineAlpha: fineAlpha}
			for bi := 0; bi < nData; bi++ {
				bin := info.Bands[bi]
				fine := reuse(&fineBuf, bin.Type, fw, max(0, fy1-fy0))
				if fy1 > fy0 {
					if err := in.ReadBand(bi, 0, fy0, fw, fy1-fy0, fine, gdal.Nearest); err != nil {
						return err
					}
				}
				o := reuse(&outBuf, bin.Type, ow, n)
				fill := 0.0
				if bin.HasNoData {
					fill = bin.NoData
				}
				var oa []byte
				if bi == 0 {
					oa = outAlpha
				}
				reduceBand(fine, o, g, valid[bi], fill, mode, oa)
				if err := out.WriteBand(bi, 0, oy, o); err != nil {
					return err
				}
			}
			if alpha {
				if err := out.WriteBand(nData, 0, oy, &raster.Band{Type: raster.Byte, Width: ow, Height: n, Data: outAlpha}); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	cerr := out.Close()
	if werr != nil {
		return fmt.Errorf("ingest: build zoom %d: %w", to.Z, werr)
	}
	return cerr
}

// grid2x2 maps a strip of coarse rows onto the finer strip read for it.
type grid2x2 struct {
	fw       int // finer width
	fy0, fy1 int // finer rows held: fy0 ≤ row < fy1
	offX     int
	offY     int
	ow       int // coarse width
	oy, n    int // coarse rows oy … oy+n−1
	// fineAlpha is the finer strip's alpha band (nil without one).
	fineAlpha []byte
}

func reduceBand(fine, out *raster.Band, g grid2x2, v validity, fill float64, mode bool, outAlpha []byte) {
	switch fine.Type {
	case raster.Byte:
		if !mode && outAlpha == nil && g.fineAlpha == nil {
			reduceByteMean(typed[uint8](fine), typed[uint8](out), g, v, uint8(fill))
			return
		}
		reduce(typed[uint8](fine), typed[uint8](out), g, v, uint8(fill), mode, outAlpha)
	case raster.Int8:
		reduce(typed[int8](fine), typed[int8](out), g, v, int8(fill), mode, outAlpha)
	case raster.UInt16:
		reduce(typed[uint16](fine), typed[uint16](out), g, v, uint16(fill), mode, outAlpha)
	case raster.Int16:
		reduce(typed[int16](fine), typed[int16](out), g, v, int16(fill), mode, outAlpha)
	case raster.UInt32:
		reduce(typed[uint32](fine), typed[uint32](out), g, v, uint32(fill), mode, outAlpha)
	case raster.Int32:
		reduce(typed[int32](fine), typed[int32](out), g, v, int32(fill), mode, outAlpha)
	case raster.Float32:
		reduce(typed[float32](fine), typed[float32](out), g, v, float32(fill), mode, outAlpha)
	default:
		reduce(typed[float64](fine), typed[float64](out), g, v, fill, mode, outAlpha)
	}
}

// reduce fills out (g.n coarse rows of g.ow) from fine. outAlpha, when not nil, is set to
// 255 where a pixel has a valid child.
func reduce[T number](fine, out []T, g grid2x2, v validity, fill T, mode bool, outAlpha []byte) {
	isFloat := v.float
	var kids [4]T
	for r := 0; r < g.n; r++ {
		fyA := 2*(g.oy+r) - g.offY // the upper child row, in finer raster rows
		both := fyA >= g.fy0 && fyA+1 < g.fy1 && g.fineAlpha == nil
		for c := 0; c < g.ow; c++ {
			fx := 2*c - g.offX
			i := r*g.ow + c
			if both && fx >= 0 && fx+1 < g.fw {
				// Fast path: all four children exist; only nodata can drop one.
				top := (fyA-g.fy0)*g.fw + fx
				a, b, cc, d := fine[top], fine[top+1], fine[top+g.fw], fine[top+g.fw+1]
				if v.ok(float64(a)) && v.ok(float64(b)) && v.ok(float64(cc)) && v.ok(float64(d)) {
					if outAlpha != nil {
						outAlpha[i] = 255
					}
					if mode {
						out[i] = mode4(a, b, cc, d)
						continue
					}
					mean := (float64(a) + float64(b) + float64(cc) + float64(d)) / 4
					if !isFloat {
						mean = math.Round(mean)
					}
					out[i] = T(mean)
					continue
				}
			}
			k := 0
			for dy := 0; dy < 2; dy++ {
				fy := fyA + dy
				if fy < g.fy0 || fy >= g.fy1 {
					continue
				}
				row := (fy - g.fy0) * g.fw
				for dx := 0; dx < 2; dx++ {
					x := fx + dx
					if x < 0 || x >= g.fw {
						continue
					}
					if g.fineAlpha != nil && g.fineAlpha[row+x] == 0 {
						continue
					}
					t := fine[row+x]
					if !v.ok(float64(t)) {
						continue
					}
					kids[k] = t
					k++
				}
			}
			if k == 0 {
				out[i] = fill
				continue
			}
			if outAlpha != nil {
				outAlpha[i] = 255
			}
			if mode {
				best, bestN := kids[0], 0
				for a := 0; a < k; a++ {
					m := 0
					for b := 0; b < k; b++ {
						if kids[b] == kids[a] {
							m++
						}
					}
					if m > bestN {
						best, bestN = kids[a], m
					}
				}
				out[i] = best
				continue
			}
			var sum float64
			for a := 0; a < k; a++ {
				sum += float64(kids[a])
			}
			mean := sum / float64(k)
			if !isFloat {
				mean = math.Round(mean)
			}
			out[i] = T(mean)
		}
	}
}

// mode4 is the most frequent of four values, ties going to the first in reading order.
func mode4[T number](a, b, c, d T) T {
	na := 1 + eq(a, b) + eq(a, c) + eq(a, d)
	if na >= 2 {
		return a // a pair of a's: at best tied with another pair, and a comes first
	}
	if eq(b, c)+eq(b, d) > 0 {
		return b
	}
	if c == d {
		return c
	}
	return a
}

func eq[T number](x, y T) int {
	if x == y {
		return 1
	}
	return 0
}

// reuse returns a w×h band of type t backed by *buf, grown when too small, so a strip loop
// allocates once.
func reuse(buf *[]byte, t raster.DataType, w, h int) *raster.Band {
	n := w * h * t.Size()
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	return &raster.Band{Type: t, Width: w, Height: h, Data: (*buf)[:n]}
}
