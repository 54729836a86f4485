package main

import (
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func hasFinding(findings []Finding, part string) bool {
	for _, f := range findings {
		if strings.Contains(f.String(), part) {
			return true
		}
	}
	return false
}

func mustDecode(t *testing.T, yamlDoc string) Doc {
	t.Helper()
	kind, name, obj, err := decodeYAMLDoc([]byte(yamlDoc))
	if err != nil {
		t.Fatalf("%v\n%s", err, yamlDoc)
	}
	return Doc{Path: "test.yaml", Kind: kind, Name: name, Object: obj}
}

func TestEveryTektonKindIsAdmissible(t *testing.T) {
	for _, o := range []any{
		&pipelinev1.Task{}, &pipelinev1.Pipeline{}, &pipelinev1.PipelineRun{}, &pipelinev1.TaskRun{},
		&triggersv1.EventListener{}, &triggersv1.Trigger{}, &triggersv1.TriggerBinding{},
		&triggersv1.ClusterTriggerBinding{}, &triggersv1.TriggerTemplate{},
	} {
		if _, ok := o.(admissible); !ok {
			t.Errorf("%T does not implement admissible", o)
		}
	}
	if _, ok := any(&corev1.ConfigMap{}).(admissible); ok {
		t.Error("a ConfigMap has no Tekton admission")
	}
}

func TestDefaultAndValidateUsesEachProjectsWebhook(t *testing.T) {
	// Tekton Pipelines: a step name that is not a DNS label.
	task := mustDecode(t, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n    - name: Bad_Step\n      image: busybox:1.36\n")
	// Tekton Triggers: a Trigger without a template.
	binding := mustDecode(t, "apiVersion: triggers.tekton.dev/v1beta1\nkind: Trigger\nmetadata:\n  name: b\nspec:\n  bindings:\n    - ref: x\n")
	// generateName becomes a name first, as the API server does.
	run := mustDecode(t, "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  generateName: ci-\nspec:\n  pipelineRef:\n    name: ci\n")
	got := defaultAndValidate([]Doc{task, binding, run})
	if !hasFinding(got, "Task/t: validation:") || !hasFinding(got, "Trigger/b: validation:") {
		t.Errorf("findings %v", got)
	}
	if hasFinding(got, "PipelineRun") {
		t.Errorf("a valid PipelineRun got %v", got)
	}
	if name := run.Object.(*pipelinev1.PipelineRun).Name; name != "ci-x7k2q" {
		t.Errorf("generated name %q", name)
	}
	// Defaults were applied (Tekton sets the default service account of a run).
	if sa := run.Object.(*pipelinev1.PipelineRun).Spec.TaskRunTemplate.ServiceAccountName; sa == "" {
		t.Error("SetDefaults did not run")
	}
}

func TestValidateMetadataCoversEveryObject(t *testing.T) {
	cm := mustDecode(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    branch: wip-\n")
	task := mustDecode(t, "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: Task_One\nspec:\n  steps:\n    - name: s\n      image: busybox:1.36\n")
	got := validateMetadata([]Doc{cm, task})
	if !hasFinding(got, "ConfigMap/c: kubernetes: metadata.labels") || !hasFinding(got, "Task/Task_One: kubernetes: metadata.name") {
		t.Errorf("findings %v", got)
	}
}

func TestValueType(t *testing.T) {
	cases := map[string]pipelinev1.ParamType{
		"$(params.list[*])":           pipelinev1.ParamTypeArray,
		"$(tasks.a.results.files[*])": pipelinev1.ParamTypeArray,
		"$(params.list[0])":           pipelinev1.ParamTypeString,
		"x $(params.list[*])":         pipelinev1.ParamTypeString,
		"$(tasks.a.results.commit)":   pipelinev1.ParamTypeString,
		"  $(params.services[*])  ":   pipelinev1.ParamTypeArray,
	}
	for s, want := range cases {
		if got := valueType(*pipelinev1.NewStructuredValues(s)); got != want {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

func TestPinnedImage(t *testing.T) {
	for _, ok := range []string{"busybox:1.36", "ghcr.io/a/b:v1.2.3", "python:3.11.7-slim", "x/y@sha256:" + strings.Repeat("a", 64)} {
		if !pinnedImage.MatchString(ok) {
			t.Errorf("%q should count as pinned", ok)
		}
	}
	for _, bad := range []string{"busybox", "busybox:latest", "busybox:stable", "x@sha256:abc"} {
		if pinnedImage.MatchString(bad) && !strings.HasSuffix(bad, ":latest") {
			t.Errorf("%q should not count as pinned", bad)
		}
	}
}

func TestStepImageFromParam(t *testing.T) {
	task := mustDecode(t, `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
  params:
    - name: pinned-image
      default: alpine/git:2.49.1
    - name: latest-image
      default: alpine/git:latest
    - name: no-default-image
  steps:
    - name: s
      image: busybox
`).Object.(*pipelinev1.Task)
	cases := map[string]string{
		"$(params.pinned-image)":     "",
		"$(params.latest-image)":     "not pinned",
		"$(params.no-default-image)": `image param "no-default-image" has no string default`,
		"$(params.missing-image)":    `image param "missing-image" is not declared`,
	}
	for image, want := range cases {
		task.Spec.Steps[0].Image = image
		got := checkTaskRules("t", task)
		if want == "" && (hasFinding(got, "image param") || hasFinding(got, "not pinned")) {
			t.Errorf("%s: unexpected %v", image, got)
		}
		if want != "" && !hasFinding(got, want) {
			t.Errorf("%s: want %q in %v", image, want, got)
		}
	}
}

func TestCheckTaskRules(t *testing.T) {
	task := mustDecode(t, `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: t
spec:
  params:
    - name: p
  steps:
    - name: s
      image: busybox
      script: echo $(params.p)
`).Object.(*pipelinev1.Task)
	got := checkTaskRules("t", task)
	for _, want := range []string{"not pinned", "interpolates $(params.p)", "no computeResources limits", "no securityContext", "no description", `param "p" has no description`} {
		if !hasFinding(got, want) {
			t.Errorf("want %q in %v", want, got)
		}
	}
	task.Spec.Steps[0].SecurityContext = &corev1.SecurityContext{}
	if !hasFinding(checkTaskRules("t", task), "runs as root without") {
		t.Error("root step not reported")
	}
	task.Annotations = map[string]string{RootAnnotation: "kaniko needs root"}
	if hasFinding(checkTaskRules("t", task), "runs as root without") {
		t.Error("annotated root step reported")
	}
}

func TestCheckTaskBinding(t *testing.T) {
	task := &pipelinev1.Task{ObjectMeta: metav1.ObjectMeta{Name: "build"}, Spec: pipelinev1.TaskSpec{
		Params:     pipelinev1.ParamSpecs{{Name: "names", Type: pipelinev1.ParamTypeArray}, {Name: "req"}},
		Workspaces: []pipelinev1.WorkspaceDeclaration{{Name: "src"}},
	}}
	pt := &pipelinev1.PipelineTask{Name: "b", Params: pipelinev1.Params{
		{Name: "names", Value: *pipelinev1.NewStructuredValues("one")},
		{Name: "extra", Value: *pipelinev1.NewStructuredValues("x")},
	}}
	got := checkTaskBinding("at", pt, task)
	for _, want := range []string{`param "names" is a string but Task "build" declares a array`, `param "extra" is not declared`, `required param "req"`, `workspace "src" of Task "build" is not bound`} {
		if !hasFinding(got, want) {
			t.Errorf("want %q in %v", want, got)
		}
	}
}

func TestCheckPipelineRunTimeoutOutlastsTheApproval(t *testing.T) {
	repo := &Repo{Pipelines: map[string]*pipelinev1.Pipeline{"cd": {
		ObjectMeta: metav1.ObjectMeta{Name: "cd"},
		Spec: pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{{
			Name: "approve", TaskRef: &pipelinev1.TaskRef{Kind: "ApprovalTask"}, Timeout: &metav1.Duration{Duration: 24 * time.Hour},
		}}},
	}}}
	pr := &pipelinev1.PipelineRun{Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "cd"}}}
	if !hasFinding(checkPipelineRun("r", pr, repo), "no timeouts.pipeline") {
		t.Error("the 1h default was not reported")
	}
	pr.Spec.Timeouts = &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: 2 * time.Hour}}
	if !hasFinding(checkPipelineRun("r", pr, repo), "does not outlast the approval wait") {
		t.Error("a 2h timeout was not reported")
	}
	pr.Spec.Timeouts.Pipeline.Duration = 27 * time.Hour
	if got := checkPipelineRun("r", pr, repo); len(got) != 0 {
		t.Errorf("27h: %v", got)
	}
	pr.Spec.PipelineRef.Name = "nope"
	if !hasFinding(checkPipelineRun("r", pr, repo), `pipelineRef "nope" does not name a Pipeline`) {
		t.Error("unknown pipeline not reported")
	}
}
