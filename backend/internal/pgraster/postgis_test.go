package pgraster_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/pgraster"
	"github.com/tessera-gis/tessera/shared/raster"
)

// postgis connects to DATABASE_URL's server (no schema needed: these tests only run
// SELECTs). It skips, or fails under TESSERA_REQUIRE_SERVICES=1, when the server is
// unreachable. (dbtest is not used so that this package's tests do not depend on pgstore.)
func postgis(t *testing.T) *pgx.Conn {
	t.Helper()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		dsn = "postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("TESSERA_REQUIRE_SERVICES") == "1" {
			t.Fatalf("PostgreSQL unreachable: %v (TESSERA_REQUIRE_SERVICES=1; run scripts/services.sh)", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPostGISReadsEncoded hands every sample to PostGIS and checks what PostGIS reads back:
// it re-emits the very same bytes, and reports the georeference, pixel types, nodata and
// pixel values we wrote.
func TestPostGISReadsEncoded(t *testing.T) {
	conn := postgis(t)
	ctx := context.Background()
	for name, r := range samples() {
		if len(r.Bands) == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			wkb, err := pgraster.Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			var (
				back               []byte
				ulx, uly, sx, sy   float64
				kx, ky             float64
				srid, w, h, nbands int
			)
			err = conn.QueryRow(ctx, `
				SELECT ST_AsBinary(r), ST_UpperLeftX(r), ST_UpperLeftY(r), ST_ScaleX(r), ST_ScaleY(r),
					ST_SkewX(r), ST_SkewY(r), ST_SRID(r), ST_Width(r), ST_Height(r), ST_NumBands(r)
				FROM (SELECT ST_RastFromWKB($1) AS r) q`, wkb).Scan(&back, &ulx, &uly, &sx, &sy, &kx, &ky, &srid, &w, &h, &nbands)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, wkb) {
				t.Errorf("PostGIS re-emits different WKB (%d bytes, we wrote %d)", len(back), len(wkb))
			}
			if ulx != r.OriginX || uly != r.OriginY || sx != r.ScaleX || sy != r.ScaleY || kx != r.SkewX || ky != r.SkewY ||
				srid != int(r.SRID) || w != r.Width || h != r.Height || nbands != len(r.Bands) {
				t.Errorf("PostGIS georeference: ul (%v,%v) scale (%v,%v) skew (%v,%v) srid %d %d×%d %d bands", ulx, uly, sx, sy, kx, ky, srid, w, h, nbands)
			}
			for bi, b := range r.Bands {
				var (
					pt string
					nd *float64
				)
				if err := conn.QueryRow(ctx, `SELECT ST_BandPixelType(r, $2), ST_BandNoDataValue(r, $2) FROM (SELECT ST_RastFromWKB($1) AS r) q`,
					wkb, bi+1).Scan(&pt, &nd); err != nil {
					t.Fatal(err)
				}
				wantPT, _ := pgraster.PixelType(b.Type)
				if pt != wantPT {
					t.Errorf("band %d: pixel type %s, want %s", bi+1, pt, wantPT)
				}
				switch {
				case !b.HasNoData && nd != nil:
					t.Errorf("band %d: PostGIS nodata %v, want none", bi+1, *nd)
				case b.HasNoData && (nd == nil || !sameFloat(*nd, b.NoData)):
					t.Errorf("band %d: PostGIS nodata %v, want %v", bi+1, nd, b.NoData)
				}
				// Every pixel, through ST_Value with exclude_nodata_value = false.
				rows, err := conn.Query(ctx, `
					SELECT ST_Value(r, $2, c, rw, false) FROM (SELECT ST_RastFromWKB($1) AS r) q,
						generate_series(1, $3) rw, generate_series(1, $4) c ORDER BY rw, c`, wkb, bi+1, r.Height, r.Width)
				if err != nil {
					t.Fatal(err)
				}
				vals, err := pgx.CollectRows(rows, pgx.RowTo[float64])
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					if want := b.At(i); !sameFloat(v, want) {
						t.Errorf("band %d pixel %d: PostGIS reads %v, want %v", bi+1, i, v, want)
					}
				}
			}
		})
	}
}

// TestDecodePostGIS decodes rasters PostGIS built itself, of every pixel type it has.
func TestDecodePostGIS(t *testing.T) {
	conn := postgis(t)
	ctx := context.Background()
	for _, tc := range []struct {
		pt      string
		val, nd float64
		want    raster.DataType
	}{
		{"1BB", 1, 0, raster.Byte},
		{"2BUI", 3, 0, raster.Byte},
		{"4BUI", 13, 15, raster.Byte},
		{"8BSI", -7, -128, raster.Int8},
		{"8BUI", 200, 255, raster.Byte},
		{"16BSI", -1234, -32768, raster.Int16},
		{"16BUI", 54321, 0, raster.UInt16},
		{"32BSI", -123456789, -1, raster.Int32},
		{"32BUI", 3000000000, 0, raster.UInt32},
		{"32BF", 1.5, -3.4e38, raster.Float32},
		{"64BF", math.Pi, -1e300, raster.Float64},
	} {
		t.Run(tc.pt, func(t *testing.T) {
			var wkb []byte
			// A 3×2 raster filled with val, whose pixel (2,1) is set to nodata.
			err := conn.QueryRow(ctx, `
				SELECT ST_AsBinary(ST_SetValue(
					ST_AddBand(ST_MakeEmptyRaster(3, 2, 100.5, 200.25, 2, -3, 0.1, 0.2, 3857), $1::text, $2::float8, $3::float8),
					1, 2, 1, $3::float8))`, tc.pt, tc.val, tc.nd).Scan(&wkb)
			if err != nil {
				t.Fatal(err)
			}
			r, err := pgraster.Decode(wkb)
			if err != nil {
				t.Fatal(err)
			}
			if r.OriginX != 100.5 || r.OriginY != 200.25 || r.ScaleX != 2 || r.ScaleY != -3 || r.SkewX != 0.1 || r.SkewY != 0.2 ||
				r.SRID != 3857 || r.Width != 3 || r.Height != 2 || len(r.Bands) != 1 {
				t.Fatalf("decoded %+v", r)
			}
			b := r.Bands[0]
			wantND := tc.nd
			if tc.pt == "32BF" {
				wantND = float64(float32(tc.nd))
			}
			if b.Type != tc.want || !b.HasNoData || b.NoData != wantND {
				t.Fatalf("band %v nodata=%v %v; want %v nodata %v", b.Type, b.HasNoData, b.NoData, tc.want, wantND)
			}
			for i := range b.Len() {
				want := tc.val
				if i == 1 {
					want = wantND
				}
				if b.At(i) != want {
					t.Errorf("pixel %d = %v, want %v", i, b.At(i), want)
				}
			}
		})
	}
}

// TestDecodeSerializedPostGIS hands every sample to PostGIS and decodes the bytes PostGIS
// stores for it (through tessera_rast_slice, which scripts/services.sh creates), and rasters
// PostGIS built of every pixel type: DecodeSerialized reads what Decode reads from the WKB.
func TestDecodeSerializedPostGIS(t *testing.T) {
	conn := postgis(t)
	ctx := context.Background()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_proc WHERE proname = 'tessera_rast_slice'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("no tessera_rast_slice in the database (%v): run scripts/services.sh", err)
	}
	check := func(t *testing.T, query string, args ...any) {
		var wkb, stored []byte
		if err := conn.QueryRow(ctx, `SELECT ST_AsBinary(r), tessera_rast_slice(r, 1, 2147483647) FROM (SELECT `+query+` AS r) AS s`, args...).Scan(&wkb, &stored); err != nil {
			t.Fatal(err)
		}
		want, err := pgraster.Decode(wkb)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgraster.DecodeSerialized(stored)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, want) {
			t.Fatalf("serialized form decodes to %+v, the WKB to %+v", got, want)
		}
		// The fuzz target's seeds are made so (serialized, in pgraster_test.go).
		if !bytes.Equal(serialized(wkb), stored) {
			t.Fatalf("serialized(WKB) differs from the stored form:\n%x\n%x", serialized(wkb), stored)
		}
		// Every shorter prefix is an error, never a panic or a raster.
		for k := 0; k < len(stored); k++ {
			if _, err := pgraster.DecodeSerialized(stored[:k]); !errors.Is(err, pgraster.ErrInvalid) {
				t.Fatalf("%d of %d bytes: %v", k, len(stored), err)
			}
		}
	}
	for name, r := range samples() {
		t.Run(name, func(t *testing.T) {
			wkb, err := pgraster.Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			check(t, `ST_RastFromWKB($1::bytea)`, wkb)
		})
	}
	for _, pt := range []string{"1BB", "2BUI", "4BUI", "8BSI", "8BUI", "16BSI", "16BUI", "32BSI", "32BUI", "32BF", "64BF"} {
		t.Run(pt, func(t *testing.T) {
			// Three bands of 5×3: pt between two 16BUI bands, whose 30 bytes are padded to 32.
			check(t, `ST_SetValue(ST_AddBand(ST_AddBand(ST_AddBand(ST_MakeEmptyRaster(5, 3, 100.5, 200.25, 2, -3, 0.1, 0.2, 3857),
				'16BUI'::text, 9, 0), $1::text, 1, 0), '16BUI'::text, 700, NULL), 2, 4, 3, 0)`, pt)
		})
	}
}
