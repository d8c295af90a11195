package dashboard

import (
	"fmt"
	"testing"
)

// BenchmarkHugoRender measures the Hugo layout's two costs on the test workshop: a
// workshop's first render (two hugo builds with placeholders, compared) and each further
// session's render (its values filled into the cached build).
func BenchmarkHugoRender(b *testing.B) {
	needHugo(b)
	b.Run("first", func(b *testing.B) {
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
	b.Run("session", func(b *testing.B) {
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
