package testdatagen

import (
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/shared/raster"
)

// LocalCRS is an engineering CRS with no relation to the Earth: no transformation to
// EPSG:3857 exists.
const LocalCRS = `LOCAL_CS["arbitrary grid",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]`

// WriteLocalCRSRaster writes a small byte raster in LocalCRS to path: a georeferenced
// raster whose CRS cannot reach web mercator.
func WriteLocalCRSRaster(path string) error {
	b := raster.New(raster.Byte, 16, 16)
	for i := range b.Data {
		b.Data[i] = byte(i)
	}
	return gdal.WriteGeoTIFF(path, gdal.GeoTIFF{GeoTransform: [6]float64{1000, 10, 0, 2000, 0, -10}, CRS: LocalCRS, Bands: []*raster.Band{b}})
}
