package formula

import "testing"

// TestFusion pins how many loops over a block common formulas compile to, so that a change
// to the generator or the fusion rule cannot silently drop the superinstructions; the
// reference test checks their values.
func TestFusion(t *testing.T) {
	for _, tt := range []struct {
		src          string
		instrs, kern int // instructions of the main program, superinstructions among them
	}{
		{"(b-a)/(b+a)", 2, 1},                 // b+a, then (b-a)/that
		{"(a*2-b)/(a+b+1)>0.2&c!=0", 4, 4},    // a*2-b, a+b+1, /…>0.2, c!=0 & …
		{"x>0&x<2", 2, 1},                     // x>0, then x<2 & that
		{"a+b+c+d", 2, 1},                     // (a+b)+c, then +d
		{"2-x", 1, 0},                         // a number on the left of -: one plain loop
		{"~a*2+b", 3, 0},                      // masks travel: no fusion
		{"where(a > 0, a / b, 0)", 3, 0},      // where: no superinstruction
		{"log(a) - b / 3", 2, 1},              // log(a), then that - b/3
		{"(a - b) / 3 > 1 | a == NULL", 4, 1}, // (a-b)/3 fused; > 1, == NULL, | plain
	} {
		t.Run(tt.src, func(t *testing.T) {
			p, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			code := p.code[p.main.lo:p.main.hi]
			kern := 0
			for _, in := range code {
				if in.kern != nil {
					kern++
				}
			}
			if len(code) != tt.instrs || kern != tt.kern {
				t.Fatalf("%d instructions, %d fused; want %d, %d", len(code), kern, tt.instrs, tt.kern)
			}
		})
	}
}
