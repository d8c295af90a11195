package dashboard

import (
	"fmt"
	"testing"
)

// loadtestSample is the load tool's Hugo-layout workshop (13 pages, see package loadtest).
const loadtestSample = "../loadtest/hugo-sample"

// BenchmarkHugoRender measures the Hugo layout's costs: a workshop's first render (two
// hugo builds with placeholders, compared), the render of a dashboard of its own (one
// build with the session's values) and each further session's render (its values filled
// into the cached build), on the test workshop (first, own, session) and on the load
// tool's sample (sample-first, sample-own, sample-session).
func BenchmarkHugoRender(b *testing.B) {
	needHugo(b)
	benchmarkHugoRender(b, "", hugoWorkshop)
	benchmarkHugoRender(b, "sample-", loadtestSample)
}

func benchmarkHugoRender(b *testing.B, prefix, hugoWorkshop string) {
	b.Run(prefix+"first", func(b *testing.B) {
		for b.Loop() {
			h, err := loadHugo(hugoWorkshop)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.render(hugoVars, nil); err != nil {
				b.Fatal(err)
			}
			h.close()
		}
	})
	b.Run(prefix+"own", func(b *testing.B) {
		for b.Loop() {
			h, err := loadHugo(hugoWorkshop)
			if err != nil {
				b.Fatal(err)
			}
			h.single = true
			if _, err := h.render(hugoVars, nil); err != nil {
				b.Fatal(err)
			}
			h.close()
		}
	})
	b.Run(prefix+"session", func(b *testing.B) {
		h, err := loadHugo(hugoWorkshop)
		if err != nil {
			b.Fatal(err)
		}
		defer h.close()
		if _, err := h.render(hugoVars, nil); err != nil { // the build, once
			b.Fatal(err)
		}
		vars := map[string]string{}
		for k, v := range hugoVars {
			vars[k] = v
		}
		i := 0
		for b.Loop() {
			vars["session_name"] = fmt.Sprintf("lab-w01-s%06d", i)
			i++
			if _, err := h.render(vars, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
