package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestLabelPriority(t *testing.T) {
	cfg, err := Parse("labels.yaml", []byte(`apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    workshop:
      defaults:
        labels:
        - {name: a, value: default}
        - {name: b, value: default}
  workshops:
  - name: ws
    capacity: 1
    labels:
    - {name: c, value: entry}
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: ws
spec:
  title: WS
  description: d
  labels:
  - {name: b, value: workshop}
  - {name: c, value: workshop}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []portal.Label{{Name: "a", Value: "default"}, {Name: "b", Value: "workshop"}, {Name: "c", Value: "entry"}}
	if diff := cmp.Diff(want, cfg.Portal.Workshops[0].Labels); diff != "" {
		t.Fatalf("labels (-want +got):\n%s", diff)
	}
}
