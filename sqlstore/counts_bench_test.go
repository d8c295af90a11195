package sqlstore

import (
	"fmt"
	"testing"

	"portal"
)

// BenchmarkCounts reads the counts every allocation and reconciler pass reads (one
// environment's, every environment's, the portal's) with 0 and 10,000 sessions in the
// store: they come from session_counts, so their cost does not grow with the sessions.
func BenchmarkCounts(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			db := benchDB(b, n)
			for b.Loop() {
				err := db.View(b.Context(), func(tx portal.Tx) error {
					if _, err := tx.EnvCounts("lab-w03"); err != nil {
						return err
					}
					if _, err := tx.AllEnvCounts(); err != nil {
						return err
					}
					_, err := tx.PortalCounts()
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
