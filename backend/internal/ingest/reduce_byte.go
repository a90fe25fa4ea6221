package ingest

import "encoding/binary"

// reduceByteMean is reduce's average for Byte bands without an alpha band (RGB imagery,
// the most common input): the same result, with integer arithmetic and a lookup table for
// nodata instead of a float64 test per child. Rows whose children are not all inside the
// finer strip go to the general reduce.
//
// Why: the general kernel was the largest Go cost of ingesting an RGB raster (measured with
// perf on RGB.byte.tif at 400%).
func reduceByteMean(fine, out []uint8, g grid2x2, v validity, fill uint8) {
	var valid [256]bool
	invalid, nd := 0, uint8(0)
	for i := range valid {
		valid[i] = v.ok(float64(i))
		if !valid[i] {
			invalid, nd = invalid+1, uint8(i)
		}
	}
	// Eight finer bytes of two rows at a time (four output pixels) in uint64 lanes when at
	// most one byte value is nodata: no nodata among them, the rounded mean of each 2×2 in
	// 16-bit lanes; all nodata, the fill. Anything else goes pixel by pixel.
	swar := invalid <= 1
	const ones, lo16 = 0x0101010101010101, 0x00FF00FF00FF00FF
	ndRep := uint64(nd) * ones
	fillRep := uint32(fill) * 0x01010101
	for r := 0; r < g.n; r++ {
		fyA := 2*(g.oy+r) - g.offY
		orow := out[r*g.ow : (r+1)*g.ow]
		if fyA < g.fy0 || fyA+1 >= g.fy1 {
			g1 := g
			g1.oy, g1.n = g.oy+r, 1
			reduce(fine, orow, g1, v, fill, false, nil)
			continue
		}
		top := fine[(fyA-g.fy0)*g.fw : (fyA-g.fy0+1)*g.fw]
		bot := fine[(fyA-g.fy0+1)*g.fw : (fyA-g.fy0+2)*g.fw]
		for c := 0; c < len(orow); {
			end := c + 1
			if swar && c+4 <= len(orow) {
				end = c + 4
				if fx := 2*c - g.offX; fx >= 0 && fx+8 <= g.fw {
					t := binary.LittleEndian.Uint64(top[fx:])
					b := binary.LittleEndian.Uint64(bot[fx:])
					hit := true
					if invalid == 1 {
						xt, xb := t^ndRep, b^ndRep
						if (xt-ones)&^xt&(ones<<7) != 0 || (xb-ones)&^xb&(ones<<7) != 0 {
							hit = false
							if t == ndRep && b == ndRep {
								binary.LittleEndian.PutUint32(orow[c:], fillRep)
								c += 4
								continue
							}
						}
					}
					if hit {
						sum := t&lo16 + (t>>8)&lo16 + b&lo16 + (b>>8)&lo16 + 0x0002000200020002
						m := (sum >> 2) & lo16
						m = (m | m>>8) & 0x0000FFFF0000FFFF
						m = (m | m>>16) & 0xFFFFFFFF
						binary.LittleEndian.PutUint32(orow[c:], uint32(m))
						c += 4
						continue
					}
				}
			}
			for ; c < end; c++ {
				fx := 2*c - g.offX
				var kids [4]uint8
				var ok [4]bool
				n := 0
				if fx >= 0 && fx+1 < g.fw {
					kids = [4]uint8{top[fx], top[fx+1], bot[fx], bot[fx+1]}
					ok = [4]bool{valid[kids[0]], valid[kids[1]], valid[kids[2]], valid[kids[3]]}
					if ok[0] && ok[1] && ok[2] && ok[3] {
						orow[c] = uint8((uint(kids[0]) + uint(kids[1]) + uint(kids[2]) + uint(kids[3]) + 2) >> 2)
						continue
					}
				} else {
					for dx := 0; dx < 2; dx++ {
						if x := fx + dx; x >= 0 && x < g.fw {
							kids[dx], ok[dx] = top[x], valid[top[x]]
							kids[2+dx], ok[2+dx] = bot[x], valid[bot[x]]
						}
					}
				}
				sum := uint(0)
				for k := range kids {
					if ok[k] {
						sum += uint(kids[k])
						n++
					}
				}
				if n == 0 {
					orow[c] = fill
					continue
				}
				// round(sum/n), halves away from zero, as math.Round in reduce.
				orow[c] = uint8((2*sum + uint(n)) / (2 * uint(n)))
			}
		}
	}
}
