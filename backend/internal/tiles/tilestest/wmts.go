package tilestest

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// WMTS is what the tests read of a WMTS 1.0.0 capabilities document, by namespace URI and
// local name, as a client resolves them: a document with the right prefixes bound to the
// wrong namespaces reads as empty.
type WMTS struct {
	XMLName      xml.Name        `xml:"http://www.opengis.net/wmts/1.0 Capabilities"`
	Version      string          `xml:"version,attr"`
	ServiceTitle string          `xml:"http://www.opengis.net/ows/1.1 ServiceIdentification>Title"`
	ServiceType  string          `xml:"http://www.opengis.net/ows/1.1 ServiceIdentification>ServiceType"`
	Layers       []WMTSLayer     `xml:"http://www.opengis.net/wmts/1.0 Contents>Layer"`
	MatrixSets   []WMTSMatrixSet `xml:"http://www.opengis.net/wmts/1.0 Contents>TileMatrixSet"`
	MetadataURL  struct {
		Href string `xml:"http://www.w3.org/1999/xlink href,attr"`
	} `xml:"http://www.opengis.net/wmts/1.0 ServiceMetadataURL"`
}

// WMTSLayer is a Contents/Layer.
type WMTSLayer struct {
	Title      string   `xml:"http://www.opengis.net/ows/1.1 Title"`
	Abstract   string   `xml:"http://www.opengis.net/ows/1.1 Abstract"`
	Identifier string   `xml:"http://www.opengis.net/ows/1.1 Identifier"`
	WGS84      WMTSBBox `xml:"http://www.opengis.net/ows/1.1 WGS84BoundingBox"`
	BBox       WMTSBBox `xml:"http://www.opengis.net/ows/1.1 BoundingBox"`
	Styles     []struct {
		IsDefault  bool   `xml:"isDefault,attr"`
		Identifier string `xml:"http://www.opengis.net/ows/1.1 Identifier"`
	} `xml:"http://www.opengis.net/wmts/1.0 Style"`
	Formats      []string `xml:"http://www.opengis.net/wmts/1.0 Format"`
	MatrixLinks  []string `xml:"http://www.opengis.net/wmts/1.0 TileMatrixSetLink>TileMatrixSet"`
	ResourceURLs []struct {
		Format       string `xml:"format,attr"`
		ResourceType string `xml:"resourceType,attr"`
		Template     string `xml:"template,attr"`
	} `xml:"http://www.opengis.net/wmts/1.0 ResourceURL"`
}

// WMTSBBox is an ows:WGS84BoundingBox or ows:BoundingBox.
type WMTSBBox struct {
	CRS   string `xml:"crs,attr"`
	Lower string `xml:"http://www.opengis.net/ows/1.1 LowerCorner"`
	Upper string `xml:"http://www.opengis.net/ows/1.1 UpperCorner"`
}

// Corners returns the box as (minx, miny, maxx, maxy).
func (b WMTSBBox) Corners() ([4]float64, error) {
	var out [4]float64
	for i, s := range []string{b.Lower, b.Upper} {
		f := strings.Fields(s)
		if len(f) != 2 {
			return out, fmt.Errorf("corner %q: want two numbers", s)
		}
		for j, v := range f {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return out, fmt.Errorf("corner %q: %w", s, err)
			}
			out[2*i+j] = x
		}
	}
	return out, nil
}

// WMTSMatrixSet is a Contents/TileMatrixSet.
type WMTSMatrixSet struct {
	Identifier   string       `xml:"http://www.opengis.net/ows/1.1 Identifier"`
	SupportedCRS string       `xml:"http://www.opengis.net/ows/1.1 SupportedCRS"`
	WellKnown    string       `xml:"http://www.opengis.net/wmts/1.0 WellKnownScaleSet"`
	Matrices     []WMTSMatrix `xml:"http://www.opengis.net/wmts/1.0 TileMatrix"`
}

// WMTSMatrix is a TileMatrix.
type WMTSMatrix struct {
	Identifier       string  `xml:"http://www.opengis.net/ows/1.1 Identifier"`
	ScaleDenominator float64 `xml:"http://www.opengis.net/wmts/1.0 ScaleDenominator"`
	TopLeftCorner    string  `xml:"http://www.opengis.net/wmts/1.0 TopLeftCorner"`
	TileWidth        int     `xml:"http://www.opengis.net/wmts/1.0 TileWidth"`
	TileHeight       int     `xml:"http://www.opengis.net/wmts/1.0 TileHeight"`
	MatrixWidth      int     `xml:"http://www.opengis.net/wmts/1.0 MatrixWidth"`
	MatrixHeight     int     `xml:"http://www.opengis.net/wmts/1.0 MatrixHeight"`
}

// ParseWMTS reads a capabilities document.
func ParseWMTS(b []byte) (WMTS, error) {
	var w WMTS
	if err := xml.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("tilestest: WMTS capabilities: %w", err)
	}
	return w, nil
}
