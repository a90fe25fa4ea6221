package testdatagen

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemoLegend checks that the "Land cover" legend scripts/demo.sh defines names the
// classes of landcover_3857.tif as LandCoverClasses does (it named class 2 Forest, 5 Urban
// and 6 Bare: wetland, forest and urban here).
func TestDemoLegend(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	entries := regexp.MustCompile(`\{"name":"([^"]+)","expression":"(\d+)"`).FindAllSubmatch(script, -1)
	if len(entries) != len(LandCoverClasses) {
		t.Fatalf("demo.sh's legend has %d entries, want one per class: %v", len(entries), LandCoverClasses)
	}
	for _, e := range entries {
		class, _ := strconv.Atoi(string(e[2]))
		if want := LandCoverClasses[class]; !strings.EqualFold(string(e[1]), want) {
			t.Errorf("demo.sh names class %d %q, the raster's class %d is %q", class, e[1], class, want)
		}
	}
}
