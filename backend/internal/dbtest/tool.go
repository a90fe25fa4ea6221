package dbtest

import (
	"os/exec"
	"testing"
)

// GDALTool returns the path of a GDAL command-line tool (gdalinfo, gdallocationinfo, …) that
// tests use to check Tessera's GeoTIFFs; when it is missing the test is skipped, or failed
// under TESSERA_REQUIRE_SERVICES=1 (scripts/services.sh installs gdal-bin).
func GDALTool(tb testing.TB, tool string) string {
	tb.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Unavailable(tb, "%s not found: install gdal-bin", tool)
	}
	return p
}
