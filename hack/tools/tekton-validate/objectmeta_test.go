package main

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGeneratedNameKeepsWhatTheAPIServerKeeps(t *testing.T) {
	if got := generatedName("ci-main-"); got != "ci-main-x7k2q" {
		t.Errorf("generatedName = %q", got)
	}
	long := strings.Repeat("a", 80)
	if got := generatedName(long); len(got) != 63 || !strings.HasPrefix(got, long[:58]) {
		t.Errorf("generatedName(80 chars) = %q (%d)", got, len(got))
	}
}

func findingsContain(findings []string, part string) bool {
	for _, f := range findings {
		if strings.Contains(f, part) {
			return true
		}
	}
	return false
}

func TestValidateObjectMeta(t *testing.T) {
	valid := metav1.ObjectMeta{
		GenerateName: "ci-feature-abc-123-oobd2g-4e8d2c6-",
		Namespace:    "techcommerce-ci",
		Labels:       map[string]string{"techcommerce.dev/branch": "feature-abc-123-oobd2g"},
		Annotations:  map[string]string{"techcommerce.dev/branch": "Feature/ABC-123 café"},
	}
	if got := validateObjectMeta("PipelineRun", &valid); len(got) != 0 {
		t.Fatalf("valid metadata: %v", got)
	}
	cases := []struct {
		name string
		kind string
		edit func(m *metav1.ObjectMeta)
		want string
	}{
		{"uppercase in generateName", "PipelineRun", func(m *metav1.ObjectMeta) { m.GenerateName = "ci-Feature-" }, "metadata.generateName"},
		{"underscore in name", "PipelineRun", func(m *metav1.ObjectMeta) { m.GenerateName, m.Name = "", "fix_login" }, "metadata.name"},
		{"label value ending in -", "PipelineRun", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"b": "wip-"} }, "metadata.labels"},
		{"label value of 64 characters", "PipelineRun", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"b": strings.Repeat("a", 64)} }, "metadata.labels"},
		{"label value with unicode", "PipelineRun", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"b": "café"} }, "metadata.labels"},
		{"label key with a space", "PipelineRun", func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"a b": "x"} }, "metadata.labels"},
		{"annotation key with a space", "PipelineRun", func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{"a b": "x"} }, "metadata.annotations"},
		{"annotations over 256 KiB", "PipelineRun", func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024)}
		}, "metadata.annotations"},
		{"bad namespace", "PipelineRun", func(m *metav1.ObjectMeta) { m.Namespace = "Tech_Commerce" }, "metadata.namespace"},
		{"no name at all", "PipelineRun", func(m *metav1.ObjectMeta) { m.GenerateName = "" }, "name or generateName is required"},
		{"a Service name is a DNS-1035 label", "Service", func(m *metav1.ObjectMeta) { m.GenerateName, m.Name = "", "1-api" }, "metadata.name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := *valid.DeepCopy()
			c.edit(&m)
			got := validateObjectMeta(c.kind, &m)
			if !findingsContain(got, c.want) {
				t.Errorf("want a finding with %q, got %v", c.want, got)
			}
		})
	}
	// What is fine for a Service name is not all that is fine for other kinds.
	m := *valid.DeepCopy()
	m.GenerateName, m.Name = "", "1-api"
	if got := validateObjectMeta("ConfigMap", &m); len(got) != 0 {
		t.Errorf("ConfigMap 1-api: %v", got)
	}
}
