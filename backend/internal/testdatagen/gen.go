package testdatagen

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// The sample rasters Generate writes.
const (
	Terrain   = "terrain_utm.tif"       // float32, EPSG:32633, nodata -9999 holes (lakes)
	Scene     = "scene_4326.tif"        // 4 × uint16 (blue, green, red, nir), EPSG:4326, nodata 0 swath edge
	LandCover = "landcover_3857.tif"    // uint8 classes 1..6, EPSG:3857, nodata 0 outside an ellipse
	Bench     = "terrain_bench_utm.tif" // the large terrain for benchmarks (not committed)
)

// Samples lists the committed sample rasters.
var Samples = []string{Terrain, Scene, LandCover}

// TerrainNoData is the terrain's nodata value.
const TerrainNoData = -9999.0

// LandCoverClasses names the land-cover classes by value.
var LandCoverClasses = map[int]string{1: "water", 2: "wetland", 3: "cropland", 4: "grassland", 5: "forest", 6: "urban"}

// Generate writes the three sample rasters into dir. The output depends only on the code:
// fixed seeds and integer hashing, no math/rand, and explicit float64 conversions so no
// platform fuses multiply-adds differently.
func Generate(dir string) error {
	if err := WriteTerrain(filepath.Join(dir, Terrain), 320, 320); err != nil {
		return err
	}
	if err := writeScene(filepath.Join(dir, Scene)); err != nil {
		return err
	}
	return writeLandCover(filepath.Join(dir, LandCover))
}

// hash2 is a 64-bit integer hash of a lattice point and a seed (splitmix64 finaliser).
func hash2(x, y int64, seed uint64) uint64 {
	h := uint64(x)*0x9E3779B97F4A7C15 ^ uint64(y)*0xC2B2AE3D27D4EB4F ^ seed*0x165667B19E3779F9
	h ^= h >> 30
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 27
	h *= 0x94D049BB133111EB
	h ^= h >> 31
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / float64(1<<53) }

// valueNoise is smooth value noise in [0, 1): lattice values blended with a smoothstep.
func valueNoise(x, y float64, seed uint64) float64 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := float64(x-x0), float64(y-y0)
	sx := float64(float64(fx*fx) * float64(3-float64(2*fx)))
	sy := float64(float64(fy*fy) * float64(3-float64(2*fy)))
	ix, iy := int64(x0), int64(y0)
	v00 := unit(hash2(ix, iy, seed))
	v10 := unit(hash2(ix+1, iy, seed))
	v01 := unit(hash2(ix, iy+1, seed))
	v11 := unit(hash2(ix+1, iy+1, seed))
	a := float64(v00 + float64(sx*float64(v10-v00)))
	b := float64(v01 + float64(sx*float64(v11-v01)))
	return float64(a + float64(sy*float64(b-a)))
}

// fbm sums octaves of value noise (each twice the frequency, half the amplitude), in [0, 1).
func fbm(x, y float64, seed uint64, octaves int) float64 {
	var sum, norm float64
	amp, freq := 1.0, 1.0
	for o := 0; o < octaves; o++ {
		sum = float64(sum + float64(amp*valueNoise(float64(x*freq), float64(y*freq), seed+uint64(o)*7919)))
		norm += amp
		amp /= 2
		freq *= 2
	}
	return sum / norm
}

// terrainAt is the terrain's elevation at pixel (c, r), or TerrainNoData in a lake.
func terrainAt(c, r int) float64 {
	x, y := float64(c), float64(r)
	if fbm(x/45, y/45, 7, 2) > 0.74 {
		return TerrainNoData
	}
	h := fbm(x/80, y/80, 1, 6)
	h = float64(h * h) // broad valleys, sharper peaks
	return math.Round(float64(300+float64(2400*h))*10) / 10
}

// WriteTerrain writes a width×height float32 terrain with nodata lakes in EPSG:32633 (UTM
// 33N, 30 m pixels, in the Alps), row strips at a time, so the benchmark's 8000×8000 raster
// needs little memory.
func WriteTerrain(path string, width, height int) error {
	nd := TerrainNoData
	gt := [6]float64{400000, 30, 0, 5250000, 0, -30}
	d, err := gdal.Create(path, width, height, 1, raster.Float32, gt, "EPSG:32633", &nd, "DEFLATE", 256)
	if err != nil {
		return err
	}
	const strip = 256
	for y := 0; y < height; y += strip {
		n := min(strip, height-y)
		b := raster.New(raster.Float32, width, n)
		for r := 0; r < n; r++ {
			for c := 0; c < width; c++ {
				b.Set(r*width+c, terrainAt(c, y+r))
			}
		}
		if err := d.WriteBand(0, 0, y, b); err != nil {
			d.Close()
			return err
		}
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("testdatagen: %s: %w", path, err)
	}
	return nil
}

// writeScene writes a 4-band uint16 surface-reflectance-like scene (×10000: blue, green, red,
// near-infrared) of water, bare soil and vegetation of varying density, so NDVI =
// (nir−red)/(nir+red) ranges from about −0.4 (water) to 0.8 (dense vegetation). A diagonal
// swath edge in the bottom-right corner is nodata 0.
func writeScene(path string) error {
	const w, h = 200, 200
	bands := make([]*raster.Band, 4)
	for i := range bands {
		bands[i] = raster.New(raster.UInt16, w, h)
		bands[i].HasNoData, bands[i].NoData = true, 0
	}
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			i := r*w + c
			if c+r > w+h*3/4 {
				continue // outside the swath: nodata
			}
			x, y := float64(c), float64(r)
			veg := fbm(x/30, y/30, 11, 4)
			var v [4]float64
			switch {
			case fbm(x/60, y/60, 13, 3) < 0.3:
				v = [4]float64{600, 500, 300, 150}
			case veg > 0.45:
				d := float64((veg - 0.45) / 0.55)
				v = [4]float64{float64(450 - float64(150*d)), float64(800 + float64(200*d)), float64(900 - float64(600*d)), float64(2600 + float64(2400*d))}
			default:
				v = [4]float64{900, 1150, 1500, 2200}
			}
			for k := range v {
				jitter := float64(unit(hash2(int64(c), int64(r), 100+uint64(k)))*60) - 30
				bands[k].Set(i, math.Max(1, float64(v[k]+jitter)))
			}
		}
	}
	return gdal.WriteGeoTIFF(path, gdal.GeoTIFF{
		GeoTransform: [6]float64{11.0, 0.0005, 0, 48.2, 0, -0.0005}, CRS: "EPSG:4326",
		Bands: bands, Compress: "DEFLATE", Predictor: true, BlockSize: 0,
	})
}

// writeLandCover writes a 512×512 uint8 land cover (classes 1..6, see LandCoverClasses) in
// EPSG:3857 with 20 m pixels near Munich; pixels outside an ellipse are nodata 0.
func writeLandCover(path string) error {
	const w, h = 512, 512
	b := raster.New(raster.Byte, w, h)
	b.HasNoData, b.NoData = true, 0
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			dx, dy := float64(float64(c)-w/2)/(w/2), float64(float64(r)-h/2)/(h/2*0.9)
			if float64(dx*dx)+float64(dy*dy) > 1 {
				continue
			}
			x, y := float64(c), float64(r)
			v := fbm(x/70, y/70, 21, 5)
			var class byte
			switch {
			case v < 0.3:
				class = 1
			case v < 0.36:
				class = 2
			case v < 0.55:
				class = 3
			case v < 0.64:
				class = 4
			default:
				class = 5
			}
			if class >= 3 && fbm(x/25, y/25, 29, 3) > 0.7 {
				class = 6
			}
			b.Data[r*w+c] = class
		}
	}
	return gdal.WriteGeoTIFF(path, gdal.GeoTIFF{
		GeoTransform: [6]float64{1280000, 20, 0, 6130000, 0, -20}, CRS: "EPSG:3857",
		Bands: []*raster.Band{b}, Compress: "DEFLATE", Predictor: true,
	})
}
