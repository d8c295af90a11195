package dashboard

import (
	"encoding/json"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"testing"
)

// relativeLuminance is WCAG 2's relative luminance of a colour #rrggbb.
func relativeLuminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var lum float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += w * c
	}
	return lum
}

func contrast(t *testing.T, a, b string) float64 {
	la, lb := relativeLuminance(t, a), relativeLuminance(t, b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// Every colour a program writes text in reads on the terminal's background with WCAG AA
// contrast (4.5:1); black is what programs use as a background and is left out.
func TestTerminalThemeContrast(t *testing.T) {
	js, err := fs.ReadFile(staticFiles, "dashboard.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)var terminalTheme = (\{.*?\});`).FindSubmatch(js)
	if m == nil {
		t.Fatal("dashboard.js has no terminalTheme")
	}
	var theme map[string]string
	if err := json.Unmarshal(m[1], &theme); err != nil {
		t.Fatalf("terminalTheme is not JSON: %v", err)
	}
	bg := theme["background"]
	for _, name := range []string{"foreground", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
		"brightBlack", "brightRed", "brightGreen", "brightYellow", "brightBlue", "brightMagenta", "brightCyan", "brightWhite"} {
		c, ok := theme[name]
		if !ok {
			t.Errorf("theme lacks %s: xterm's default would be used", name)
			continue
		}
		if r := contrast(t, c, bg); r < 4.5 {
			t.Errorf("%s %s on %s: contrast %.2f, want at least 4.5", name, c, bg, r)
		}
	}
	if r := contrast(t, theme["selectionForeground"], theme["selectionBackground"]); r < 4.5 {
		t.Errorf("selected text: contrast %.2f, want at least 4.5", r)
	}
}
