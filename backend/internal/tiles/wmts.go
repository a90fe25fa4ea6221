package tiles

import (
	"context"
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tessera-gis/tessera/shared/tile"
)

// WMTSFile is the file name of a WMTS capabilities document under tiles/{layer}/ and
// algebra/ (TiTiler's name for it, the one desktop GIS users are told to paste).
const WMTSFile = "WMTSCapabilities.xml"

// The OGC WMTS 1.0.0 names the capabilities document uses (OGC 07-057r7).
const (
	wmtsNS  = "http://www.opengis.net/wmts/1.0"
	owsNS   = "http://www.opengis.net/ows/1.1"
	xlinkNS = "http://www.w3.org/1999/xlink"
	// wmtsMatrixSet is the tile matrix set of the XYZ grid, the well-known one of WMTS
	// 1.0.0 Annex E.4, and wmtsScaleSet its well-known scale set.
	wmtsMatrixSet = "GoogleMapsCompatible"
	wmtsScaleSet  = "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
	wmtsCRS       = "urn:ogc:def:crs:EPSG::3857"
	// wmtsPixelSize is the "standardized rendering pixel size" scale denominators are
	// computed with, 0.28 mm (WMTS 1.0.0 §6.1).
	wmtsPixelSize = 0.00028
)

// The capabilities document. Names carry their prefix literally ("ows:Title"): encoding/xml
// writes a namespace as a default xmlns on every element, which is valid but not what
// GIS clients are used to reading; the root declares the prefixes once.
type wmtsCapabilities struct {
	XMLName            xml.Name        `xml:"Capabilities"`
	NS                 string          `xml:"xmlns,attr"`
	OWS                string          `xml:"xmlns:ows,attr"`
	XLink              string          `xml:"xmlns:xlink,attr"`
	Version            string          `xml:"version,attr"`
	Service            wmtsService     `xml:"ows:ServiceIdentification"`
	Layer              wmtsLayer       `xml:"Contents>Layer"`
	MatrixSet          wmtsMatrixSetEl `xml:"Contents>TileMatrixSet"`
	ServiceMetadataURL wmtsHref        `xml:"ServiceMetadataURL"`
}

type wmtsService struct {
	Title              string `xml:"ows:Title"`
	ServiceType        string `xml:"ows:ServiceType"`
	ServiceTypeVersion string `xml:"ows:ServiceTypeVersion"`
}

type wmtsLayer struct {
	Title       string          `xml:"ows:Title"`
	Abstract    string          `xml:"ows:Abstract,omitempty"`
	WGS84       wmtsBBox        `xml:"ows:WGS84BoundingBox"`
	Identifier  string          `xml:"ows:Identifier"`
	BBox        wmtsBBox        `xml:"ows:BoundingBox"`
	Style       wmtsStyle       `xml:"Style"`
	Format      string          `xml:"Format"`
	MatrixLink  string          `xml:"TileMatrixSetLink>TileMatrixSet"`
	ResourceURL wmtsResourceURL `xml:"ResourceURL"`
}

type wmtsBBox struct {
	CRS   string `xml:"crs,attr"`
	Lower string `xml:"ows:LowerCorner"`
	Upper string `xml:"ows:UpperCorner"`
}

type wmtsStyle struct {
	IsDefault  bool   `xml:"isDefault,attr"`
	Identifier string `xml:"ows:Identifier"`
}

type wmtsResourceURL struct {
	Format       string `xml:"format,attr"`
	ResourceType string `xml:"resourceType,attr"`
	Template     string `xml:"template,attr"`
}

type wmtsMatrixSetEl struct {
	Identifier   string       `xml:"ows:Identifier"`
	SupportedCRS string       `xml:"ows:SupportedCRS"`
	WellKnownSet string       `xml:"WellKnownScaleSet,omitempty"`
	TileMatrices []wmtsMatrix `xml:"TileMatrix"`
}

type wmtsMatrix struct {
	Identifier       string `xml:"ows:Identifier"`
	ScaleDenominator string `xml:"ScaleDenominator"`
	TopLeftCorner    string `xml:"TopLeftCorner"`
	TileWidth        int    `xml:"TileWidth"`
	TileHeight       int    `xml:"TileHeight"`
	MatrixWidth      int    `xml:"MatrixWidth"`
	MatrixHeight     int    `xml:"MatrixHeight"`
}

type wmtsHref struct {
	Href string `xml:"xlink:href,attr"`
}

// wmtsFormat checks q's format=, the format a WMTS document's tiles are served in: png
// (default) or jpg. tif and msgpack, which TileJSON may name, are no image a WMTS client
// draws: a 400.
func wmtsFormat(q url.Values) error {
	f, err := tileJSONFormat(q)
	if err != nil {
		return err
	}
	if f != PNG && f != JPEG {
		return paramErr("format", "%q: a WMTS layer's tiles are png or jpg", clip(q.Get("format")))
	}
	return nil
}

// withoutOGCKeys is q without the OGC key-value parameters SERVICE, REQUEST and VERSION (in
// any case), which a WMTS client may add to the capabilities URL it is given (OWSLib adds
// service=WMTS&request=GetCapabilities&version=1.0.0): no parameter of Tessera's, they would
// otherwise be kept in every tile URL of the document (tile.png?request=GetCapabilities&…).
//
// TileJSON's tile_scale goes too: the document's tile matrices are of RASTER_TILESIZE tiles,
// and a scale kept in the tile URLs' query would be ignored by the tiles anyway.
func withoutOGCKeys(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		switch strings.ToLower(k) {
		case "service", "request", "version", "tile_scale":
		default:
			out[k] = v
		}
	}
	return out
}

// LayerWMTS answers tiles/{layer}/WMTSCapabilities.xml: an OGC WMTS 1.0.0 capabilities
// document (RESTful) for a layer's XYZ tiles, which QGIS, ArcGIS and GDAL add as a tile
// service. The layer, the query and format= are read as LayerTileJSON reads them.
// django-raster has no WMTS; Tessera adds it for desktop GIS, which read no TileJSON.
func (s *Service) LayerWMTS(ctx context.Context, ref string, q url.Values, c Client) *Response {
	q = withoutOGCKeys(q)
	if err := wmtsFormat(q); err != nil {
		return ErrorResponse(err)
	}
	src, err := s.layerSource(ctx, ref, q)
	if err != nil {
		return s.fail(ctx, "wmts", err)
	}
	id := src.name
	if id == "" {
		id = strconv.FormatInt(src.layers[0].ID, 10)
	}
	return s.wmtsAnswer(src, id, q, c)
}

// AlgebraWMTS answers algebra/WMTSCapabilities.xml?layers=…&formula=…: LayerWMTS for an
// algebra query, read as AlgebraTileJSON reads it.
func (s *Service) AlgebraWMTS(ctx context.Context, q url.Values, c Client) *Response {
	q = withoutOGCKeys(q)
	if err := wmtsFormat(q); err != nil {
		return ErrorResponse(err)
	}
	src, err := s.algebraSource(ctx, q)
	if err != nil {
		return s.fail(ctx, "wmts", err)
	}
	return s.wmtsAnswer(src, "algebra", q, c)
}

func (s *Service) wmtsAnswer(src tileSource, id string, q url.Values, c Client) *Response {
	body, err := xml.MarshalIndent(s.wmtsFor(src, id, q, c.BaseURL), "", "  ")
	if err != nil {
		return ErrorResponse(err)
	}
	return DocumentResponse("application/xml", append([]byte(xml.Header), body...), c)
}

// wmtsFor builds the capabilities document of src, whose layer is named id, under base.
func (s *Service) wmtsFor(src tileSource, id string, q url.Values, base string) wmtsCapabilities {
	e, ok := src.extent()
	b := lonLatBounds(e, ok)
	if !ok {
		e = [4]float64{-tile.Origin, -tile.Origin, tile.Origin, tile.Origin}
	}
	size := s.cfg.TileSize
	set := wmtsMatrixSetEl{Identifier: wmtsMatrixSet, SupportedCRS: wmtsCRS}
	if size == tile.DefaultSize {
		// The well-known scale set's scales are those of 256-pixel tiles; with another
		// RASTER_TILESIZE the matrices are the same grid at other scales, and naming the set
		// would tell a client that trusts it the wrong resolution.
		set.WellKnownSet = wmtsScaleSet
	}
	corner := coord(-tile.Origin) + " " + coord(tile.Origin)
	for z := 0; z <= src.maxZoom(); z++ {
		n := 1 << z
		set.TileMatrices = append(set.TileMatrices, wmtsMatrix{
			Identifier:       strconv.Itoa(z),
			ScaleDenominator: strconv.FormatFloat(scaleDenominator(z, size), 'f', -1, 64),
			TopLeftCorner:    corner,
			TileWidth:        size, TileHeight: size, MatrixWidth: n, MatrixHeight: n,
		})
	}
	format := src.format.ContentType()
	return wmtsCapabilities{
		NS: wmtsNS, OWS: owsNS, XLink: xlinkNS, Version: "1.0.0",
		Service: wmtsService{Title: "Tessera: " + src.name, ServiceType: "OGC WMTS", ServiceTypeVersion: "1.0.0"},
		Layer: wmtsLayer{
			Title: src.name, Abstract: src.desc, Identifier: id,
			WGS84: wmtsBBox{CRS: "urn:ogc:def:crs:OGC:2:84", Lower: lonLat(b[0], b[1]), Upper: lonLat(b[2], b[3])},
			// The extent in the matrix set's CRS too: clients (GDAL) then take the layer's
			// extent as it is rather than the degrees reprojected back.
			BBox:       wmtsBBox{CRS: wmtsCRS, Lower: coord(e[0]) + " " + coord(e[1]), Upper: coord(e[2]) + " " + coord(e[3])},
			Style:      wmtsStyle{IsDefault: true, Identifier: "default"},
			Format:     format,
			MatrixLink: wmtsMatrixSet,
			ResourceURL: wmtsResourceURL{Format: format, ResourceType: "tile",
				Template: src.tileURL(base, "{TileMatrix}", "{TileCol}", "{TileRow}")},
		},
		MatrixSet:          set,
		ServiceMetadataURL: wmtsHref{Href: base + src.path + "/" + WMTSFile + encodeQuery(q)},
	}
}

// scaleDenominator is the WMTS scale denominator of zoom z's tiles of size pixels: the
// metres a pixel spans over 0.28 mm (559082264.0287178 / 2^z for 256-pixel tiles, WMTS
// 1.0.0 Annex E.4).
func scaleDenominator(z, size int) float64 {
	return tile.WorldSize / float64(size) / math.Exp2(float64(z)) / wmtsPixelSize
}

// coord formats an EPSG:3857 coordinate in metres to a tenth of a micrometre, as WMTS
// 1.0.0's GoogleMapsCompatible writes its corner (-20037508.3427892).
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 7, 64) }

// lonLat formats a WGS84 position as "lon lat", the axis order of ows:WGS84BoundingBox.
func lonLat(lon, lat float64) string {
	return strconv.FormatFloat(lon, 'f', -1, 64) + " " + strconv.FormatFloat(lat, 'f', -1, 64)
}

// DocumentResponse answers a document that can change under the same URL (TileJSON, a WMTS
// capabilities document, the server's config route) with an ETag of its bytes, so a client
// revalidating gets 304, and Cache-Control no-cache: a tile document follows the layer's parse
// (zoom, extent), the config a restart with other settings, which a cached copy must not
// outlive.
func DocumentResponse(contentType string, body []byte, c Client) *Response {
	h := http.Header{}
	etag := `"` + hashOf(body) + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if MatchesETag(c.IfNoneMatch, etag) {
		return &Response{Status: http.StatusNotModified, Header: h}
	}
	h.Set("Content-Type", contentType)
	return &Response{Status: http.StatusOK, Header: h, Body: body}
}
