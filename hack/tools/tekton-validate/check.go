package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	pipelineconfig "github.com/tektoncd/pipeline/pkg/apis/config"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggersconfig "github.com/tektoncd/triggers/pkg/apis/config"
	"github.com/tektoncd/triggers/pkg/apis/triggers/contexts"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
)

// Finding is one problem, reported as "WHERE: MSG".
type Finding struct {
	Where string
	Msg   string
}

func (f Finding) String() string { return f.Where + ": " + f.Msg }

// RootAnnotation marks a Task whose steps may run as root, with the reason as its value.
const RootAnnotation = "techcommerce.dev/runs-as-root"

// approvalTaskParams are the params of openshift-pipelines/manual-approval-gate's ApprovalTask.
var approvalTaskParams = map[string]pipelinev1.ParamType{
	"approvers":                 pipelinev1.ParamTypeArray,
	"numberOfApprovalsRequired": pipelinev1.ParamTypeString,
	"description":               pipelinev1.ParamTypeString,
}

// webhookContext is the context Tekton's admission webhook validates in: the default feature
// flags (enable-api-fields: beta) of the pinned Tekton release, and a CREATE operation.
func webhookContext() context.Context {
	ctx := context.Background()
	ctx = pipelineconfig.ToContext(ctx, pipelineconfig.FromContextOrDefaults(ctx))
	return apis.WithinCreate(ctx)
}

// triggersWebhookContext is the context of Triggers' admission webhook: its default
// configuration, a CREATE, and "upgrade via defaulting" (Triggers' SetDefaults does nothing
// without it; its webhook sets it for defaulting and validation alike).
func triggersWebhookContext() context.Context {
	ctx := context.Background()
	ctx = triggersconfig.ToContext(ctx, triggersconfig.FromContextOrDefaults(ctx))
	ctx = contexts.WithUpgradeViaDefaulting(ctx)
	return apis.WithinCreate(ctx)
}

// admissible is what the admission webhooks of Pipelines and Triggers call on each object of
// theirs: knative's SetDefaults, then Validate.
type admissible interface {
	apis.Defaultable
	apis.Validatable
	metav1.Object
	GetObjectKind() schema.ObjectKind
}

// defaultAndValidate applies SetDefaults and Validate to every Tekton object, as the defaulting
// and validating admission webhooks of Pipelines and Triggers do, each in its own context.
func defaultAndValidate(docs []Doc) []Finding {
	webhooks := map[string]context.Context{
		pipelinev1.SchemeGroupVersion.Group: webhookContext(),
		triggersv1.SchemeGroupVersion.Group: triggersWebhookContext(),
	}
	var out []Finding
	for _, d := range docs {
		o, ok := d.Object.(admissible)
		if !ok {
			continue
		}
		ctx, ok := webhooks[o.GetObjectKind().GroupVersionKind().Group]
		if !ok {
			continue
		}
		// The API server turns generateName into a name before admission webhooks see it.
		if o.GetName() == "" && o.GetGenerateName() != "" {
			o.SetName(generatedName(o.GetGenerateName()))
		}
		o.SetDefaults(ctx)
		if err := o.Validate(ctx); err != nil {
			for _, e := range err.WrappedErrors() {
				out = append(out, Finding{d.String(), "validation: " + e.Error()})
			}
		}
	}
	return out
}

// validateMetadata applies Kubernetes' own metadata validation to every object.
func validateMetadata(docs []Doc) []Finding {
	var out []Finding
	for _, d := range docs {
		if m, ok := d.Object.(metav1.Object); ok {
			for _, msg := range validateObjectMeta(d.Kind, m) {
				out = append(out, Finding{d.String(), msg})
			}
		}
	}
	return out
}

// Repo is the set of Tekton objects found, by name.
type Repo struct {
	Tasks     map[string]*pipelinev1.Task
	Pipelines map[string]*pipelinev1.Pipeline
	where     map[any]string

	EventListeners         []*triggersv1.EventListener
	Triggers               []*triggersv1.Trigger
	TriggerBindings        []*triggersv1.TriggerBinding
	ClusterTriggerBindings []*triggersv1.ClusterTriggerBinding
	TriggerTemplates       []*triggersv1.TriggerTemplate
}

func newRepo(docs []Doc) (*Repo, []Finding) {
	r := &Repo{Tasks: map[string]*pipelinev1.Task{}, Pipelines: map[string]*pipelinev1.Pipeline{}, where: map[any]string{}}
	var out []Finding
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *pipelinev1.Task:
			if _, dup := r.Tasks[o.Name]; dup {
				out = append(out, Finding{d.String(), "duplicate Task name " + o.Name})
			}
			r.Tasks[o.Name] = o
		case *pipelinev1.Pipeline:
			if _, dup := r.Pipelines[o.Name]; dup {
				out = append(out, Finding{d.String(), "duplicate Pipeline name " + o.Name})
			}
			r.Pipelines[o.Name] = o
		case *triggersv1.EventListener:
			r.EventListeners = append(r.EventListeners, o)
		case *triggersv1.Trigger:
			r.Triggers = append(r.Triggers, o)
		case *triggersv1.TriggerBinding:
			r.TriggerBindings = append(r.TriggerBindings, o)
		case *triggersv1.ClusterTriggerBinding:
			r.ClusterTriggerBindings = append(r.ClusterTriggerBindings, o)
		case *triggersv1.TriggerTemplate:
			r.TriggerTemplates = append(r.TriggerTemplates, o)
		}
		if d.Object != nil {
			r.where[d.Object] = d.String()
		}
	}
	return r, out
}

// ---- value types ---------------------------------------------------------------------------

var (
	// A string value that is exactly one whole-array reference becomes an array when resolved.
	wholeArrayRef = regexp.MustCompile(`^\$\((params\.[^)\[]+|tasks\.[^.]+\.results\.[^)\[]+)\[\*\]\)$`)
	resultRefExpr = regexp.MustCompile(`^tasks\.([^.]+)\.results\.([^.\[\]]+)(\[\*\]|\[\d+\])?(\..+)?$`)
	varExpr       = regexp.MustCompile(`\$\(([^)]+)\)`)
)

// valueType is the type a param value has once resolved.
func valueType(v pipelinev1.ParamValue) pipelinev1.ParamType {
	if v.Type == pipelinev1.ParamTypeString && wholeArrayRef.MatchString(strings.TrimSpace(v.StringVal)) {
		return pipelinev1.ParamTypeArray
	}
	return v.Type
}

func paramType(t pipelinev1.ParamType) pipelinev1.ParamType {
	if t == "" {
		return pipelinev1.ParamTypeString
	}
	return t
}

// ---- Pipeline -> Task cross references -----------------------------------------------------

func checkPipelines(r *Repo) []Finding {
	var out []Finding
	names := make([]string, 0, len(r.Pipelines))
	for n := range r.Pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := r.Pipelines[name]
		where := r.where[p]
		byName := map[string]*pipelinev1.PipelineTask{}
		all := append(append([]pipelinev1.PipelineTask{}, p.Spec.Tasks...), p.Spec.Finally...)
		for i := range all {
			byName[all[i].Name] = &all[i]
		}
		for i := range all {
			pt := &all[i]
			at := fmt.Sprintf("%s: pipeline task %q", where, pt.Name)
			if pt.Timeout == nil {
				out = append(out, Finding{at, "no timeout set"})
			}
			switch {
			case pt.TaskRef != nil && pt.TaskRef.Kind == "ApprovalTask":
				out = append(out, checkApprovalTask(at, pt)...)
			case pt.TaskRef != nil && pt.TaskRef.Resolver == "" && (pt.TaskRef.Kind == "" || pt.TaskRef.Kind == pipelinev1.NamespacedTaskKind):
				task, ok := r.Tasks[pt.TaskRef.Name]
				if !ok {
					out = append(out, Finding{at, fmt.Sprintf("taskRef %q does not name a Task in the repository", pt.TaskRef.Name)})
					continue
				}
				out = append(out, checkTaskBinding(at, pt, task)...)
			case pt.TaskSpec != nil:
				out = append(out, Finding{at, "embedded taskSpec: keep Tasks in tekton/tasks/ so they are validated and reused"})
			default:
				out = append(out, Finding{at, "taskRef is neither a repository Task nor a known custom task"})
			}
			raw, _ := json.Marshal(pt)
			out = append(out, checkResultRefs(at, r, byName, expressions(string(raw)))...)
		}
		// Pipeline results.
		for _, res := range p.Spec.Results {
			raw, _ := json.Marshal(res.Value)
			out = append(out, checkResultRefs(fmt.Sprintf("%s: result %q", where, res.Name), r, byName, expressions(string(raw)))...)
		}
	}
	return out
}

func expressions(s string) []string {
	var out []string
	for _, m := range varExpr.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkTaskBinding compares what a pipeline task passes with what its Task declares.
func checkTaskBinding(at string, pt *pipelinev1.PipelineTask, task *pipelinev1.Task) []Finding {
	var out []Finding
	report := func(format string, args ...any) { out = append(out, Finding{at, fmt.Sprintf(format, args...)}) }
	declared := indexByName(task.Spec.Params, func(ps pipelinev1.ParamSpec) string { return ps.Name })
	given := map[string]bool{}
	// declaredParam marks a passed param as given and returns its declaration, or reports that
	// the Task does not declare it (kind: "param" or "matrix param").
	declaredParam := func(kind, name string) (pipelinev1.ParamSpec, bool) {
		given[name] = true
		ps, ok := declared[name]
		if !ok {
			report("%s %q is not declared by Task %q", kind, name, task.Name)
		}
		return ps, ok
	}
	for _, p := range pt.Params {
		ps, ok := declaredParam("param", p.Name)
		if !ok {
			continue
		}
		if got, want := valueType(p.Value), paramType(ps.Type); got != want {
			report("param %q is a %s but Task %q declares a %s", p.Name, got, task.Name, want)
		}
	}
	if pt.Matrix != nil {
		for _, p := range pt.Matrix.Params {
			ps, ok := declaredParam("matrix param", p.Name)
			if !ok {
				continue
			}
			// A matrix fans an array out into one string per TaskRun.
			if paramType(ps.Type) != pipelinev1.ParamTypeString {
				report("matrix param %q must feed a string param, Task %q declares a %s", p.Name, task.Name, ps.Type)
			}
			if valueType(p.Value) != pipelinev1.ParamTypeArray {
				report("matrix param %q must be an array", p.Name)
			}
		}
	}
	for _, ps := range task.Spec.Params {
		if ps.Default == nil && !given[ps.Name] {
			report("required param %q of Task %q is not passed", ps.Name, task.Name)
		}
	}
	workspaces := indexByName(task.Spec.Workspaces, func(w pipelinev1.WorkspaceDeclaration) string { return w.Name })
	bound := map[string]bool{}
	for _, w := range pt.Workspaces {
		bound[w.Name] = true
		if _, ok := workspaces[w.Name]; !ok {
			report("workspace %q is not declared by Task %q", w.Name, task.Name)
		}
	}
	for _, w := range task.Spec.Workspaces {
		if !w.Optional && !bound[w.Name] {
			report("workspace %q of Task %q is not bound", w.Name, task.Name)
		}
	}
	return out
}

// indexByName indexes a Task's declarations (params, workspaces) by their names.
func indexByName[T any](declarations []T, name func(T) string) map[string]T {
	index := make(map[string]T, len(declarations))
	for _, d := range declarations {
		index[name(d)] = d
	}
	return index
}

func checkApprovalTask(at string, pt *pipelinev1.PipelineTask) []Finding {
	var out []Finding
	if pt.TaskRef.APIVersion != "openshift-pipelines.org/v1alpha1" {
		out = append(out, Finding{at, "ApprovalTask must use apiVersion openshift-pipelines.org/v1alpha1"})
	}
	given := map[string]bool{}
	for _, p := range pt.Params {
		given[p.Name] = true
		want, ok := approvalTaskParams[p.Name]
		if !ok {
			out = append(out, Finding{at, fmt.Sprintf("ApprovalTask has no param %q", p.Name)})
			continue
		}
		if got := valueType(p.Value); got != want {
			out = append(out, Finding{at, fmt.Sprintf("ApprovalTask param %q must be a %s, got a %s", p.Name, want, got)})
		}
	}
	if !given["approvers"] {
		out = append(out, Finding{at, "ApprovalTask needs the approvers param"})
	}
	return out
}

// checkResultRefs checks every $(tasks.X.results.Y) names a task of the pipeline whose Task
// declares result Y, and that [*] is used only where an array exists.
func checkResultRefs(at string, r *Repo, byName map[string]*pipelinev1.PipelineTask, exprs []string) []Finding {
	var out []Finding
	for _, e := range exprs {
		m := resultRefExpr.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		producer, result, index := m[1], m[2], m[3]
		pt, ok := byName[producer]
		if !ok {
			out = append(out, Finding{at, fmt.Sprintf("$(%s): there is no pipeline task %q", e, producer)})
			continue
		}
		if pt.TaskRef == nil || pt.TaskRef.Kind == "ApprovalTask" {
			continue // custom task results are the custom task's business
		}
		task, ok := r.Tasks[pt.TaskRef.Name]
		if !ok {
			continue // reported on the producer
		}
		var decl *pipelinev1.TaskResult
		for i := range task.Spec.Results {
			if task.Spec.Results[i].Name == result {
				decl = &task.Spec.Results[i]
			}
		}
		if decl == nil {
			out = append(out, Finding{at, fmt.Sprintf("$(%s): Task %q declares no result %q", e, task.Name, result)})
			continue
		}
		resultType := decl.Type
		if resultType == "" {
			resultType = pipelinev1.ResultsTypeString
		}
		switch {
		case pt.IsMatrixed() && resultType != pipelinev1.ResultsTypeString:
			out = append(out, Finding{at, fmt.Sprintf("$(%s): only string results of a matrixed task can be consumed", e)})
		case pt.IsMatrixed() && index != "[*]":
			out = append(out, Finding{at, fmt.Sprintf("$(%s): results of matrixed task %q are arrays: use [*]", e, producer)})
		case !pt.IsMatrixed() && index != "" && resultType != pipelinev1.ResultsTypeArray:
			out = append(out, Finding{at, fmt.Sprintf("$(%s): result %q is a %s, not an array", e, result, resultType)})
		}
	}
	return out
}

// ---- PipelineRun -> Pipeline ---------------------------------------------------------------

func checkPipelineRun(where string, pr *pipelinev1.PipelineRun, r *Repo) []Finding {
	var out []Finding
	if pr.Spec.PipelineRef == nil || pr.Spec.PipelineRef.Resolver != "" {
		return out
	}
	p, ok := r.Pipelines[pr.Spec.PipelineRef.Name]
	if !ok {
		return append(out, Finding{where, fmt.Sprintf("pipelineRef %q does not name a Pipeline in the repository", pr.Spec.PipelineRef.Name)})
	}
	declared := map[string]pipelinev1.ParamSpec{}
	for _, ps := range p.Spec.Params {
		declared[ps.Name] = ps
	}
	given := map[string]bool{}
	for _, prm := range pr.Spec.Params {
		given[prm.Name] = true
		ps, ok := declared[prm.Name]
		if !ok {
			out = append(out, Finding{where, fmt.Sprintf("param %q is not declared by Pipeline %q", prm.Name, p.Name)})
			continue
		}
		if got, want := prm.Value.Type, paramType(ps.Type); got != want {
			out = append(out, Finding{where, fmt.Sprintf("param %q is a %s but Pipeline %q declares a %s", prm.Name, got, p.Name, want)})
		}
	}
	for _, ps := range p.Spec.Params {
		if ps.Default == nil && !given[ps.Name] {
			out = append(out, Finding{where, fmt.Sprintf("required param %q of Pipeline %q is not set", ps.Name, p.Name)})
		}
	}
	bound := map[string]bool{}
	for _, w := range pr.Spec.Workspaces {
		bound[w.Name] = true
	}
	for _, w := range p.Spec.Workspaces {
		if !w.Optional && !bound[w.Name] {
			out = append(out, Finding{where, fmt.Sprintf("workspace %q of Pipeline %q is not bound", w.Name, p.Name)})
		}
	}
	for name := range bound {
		found := false
		for _, w := range p.Spec.Workspaces {
			found = found || w.Name == name
		}
		if !found {
			out = append(out, Finding{where, fmt.Sprintf("workspace %q is not declared by Pipeline %q", name, p.Name)})
		}
	}
	// The run must outlast the approval wait.
	var wait time.Duration
	for _, pt := range p.Spec.Tasks {
		if pt.TaskRef != nil && pt.TaskRef.Kind == "ApprovalTask" && pt.Timeout != nil && pt.Timeout.Duration > wait {
			wait = pt.Timeout.Duration
		}
	}
	if wait > 0 {
		var limit time.Duration
		if pr.Spec.Timeouts != nil && pr.Spec.Timeouts.Pipeline != nil {
			limit = pr.Spec.Timeouts.Pipeline.Duration
		}
		if pr.Spec.Timeouts != nil && pr.Spec.Timeouts.Tasks != nil {
			limit = pr.Spec.Timeouts.Tasks.Duration
		}
		if limit != 0 && limit <= wait {
			out = append(out, Finding{where, fmt.Sprintf("timeout %s does not outlast the approval wait of %s", limit, wait)})
		}
		if limit == 0 && (pr.Spec.Timeouts == nil || pr.Spec.Timeouts.Pipeline == nil) {
			out = append(out, Finding{where, fmt.Sprintf("no timeouts.pipeline: the default (1h) does not outlast the approval wait of %s", wait)})
		}
	}
	return out
}

// ---- house rules for Tasks -----------------------------------------------------------------

var pinnedImage = regexp.MustCompile(`^[a-z0-9.\-/:_]+(@sha256:[0-9a-f]{64}|:v?[0-9][0-9A-Za-z.\-_]*)$`)

// imageParam matches a step or sidecar image given as a Task param: image: $(params.NAME).
var imageParam = regexp.MustCompile(`^\$\(params\.([a-zA-Z0-9_.\-]+)\)$`)

// stepImage is the image a step or sidecar runs when nothing overrides it: the image itself, or
// the default of the string param it names (a step image given as $(params.NAME) is pinned by
// that default). A finding when the param is not a string param with a default.
func stepImage(t *pipelinev1.Task, image string) (string, string) {
	m := imageParam.FindStringSubmatch(image)
	if m == nil {
		return image, ""
	}
	for _, p := range t.Spec.Params {
		if p.Name != m[1] {
			continue
		}
		if (p.Type != "" && p.Type != pipelinev1.ParamTypeString) || p.Default == nil || p.Default.StringVal == "" {
			return "", fmt.Sprintf("image param %q has no string default (the pinned image)", m[1])
		}
		return p.Default.StringVal, ""
	}
	return "", fmt.Sprintf("image param %q is not declared", m[1])
}

func checkTaskRules(where string, t *pipelinev1.Task) []Finding {
	var out []Finding
	tmpl := t.Spec.StepTemplate
	rootOK := t.Annotations[RootAnnotation] != ""
	check := func(kind, name, image, script string, res corev1.ResourceRequirements, sc *corev1.SecurityContext) {
		at := fmt.Sprintf("%s: %s %q", where, kind, name)
		if image, problem := stepImage(t, image); problem != "" {
			out = append(out, Finding{at, problem})
		} else if !pinnedImage.MatchString(image) || strings.HasSuffix(image, ":latest") {
			out = append(out, Finding{at, fmt.Sprintf("image %q is not pinned by an exact version tag or digest", image)})
		}
		for _, e := range expressions(script) {
			if strings.HasPrefix(e, "params.") || strings.HasPrefix(e, "tasks.") || strings.HasPrefix(e, "context.") {
				out = append(out, Finding{at, fmt.Sprintf("script interpolates $(%s): pass it through env", e)})
			}
		}
		if len(res.Limits) == 0 && (tmpl == nil || len(tmpl.ComputeResources.Limits) == 0) {
			out = append(out, Finding{at, "no computeResources limits"})
		}
		if sc == nil && tmpl != nil {
			sc = tmpl.SecurityContext
		}
		switch {
		case sc == nil:
			out = append(out, Finding{at, "no securityContext"})
		case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
			if !rootOK {
				out = append(out, Finding{at, "runs as root without the " + RootAnnotation + " annotation"})
			}
		}
		if sc != nil && (sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation) {
			out = append(out, Finding{at, "allowPrivilegeEscalation is not false"})
		}
	}
	for _, s := range t.Spec.Steps {
		check("step", s.Name, s.Image, s.Script, s.ComputeResources, s.SecurityContext)
	}
	for _, s := range t.Spec.Sidecars {
		check("sidecar", s.Name, s.Image, s.Script, s.ComputeResources, s.SecurityContext)
	}
	if t.Spec.Description == "" {
		out = append(out, Finding{where, "no description"})
	}
	for _, p := range t.Spec.Params {
		if p.Description == "" {
			out = append(out, Finding{where, fmt.Sprintf("param %q has no description", p.Name)})
		}
	}
	return out
}

// loadAndCheck loads the documents under paths and checks them: the findings of both steps.
func loadAndCheck(paths []string) ([]Doc, []Finding, error) {
	docs, findings, err := loadDocs(paths)
	if err != nil {
		return nil, nil, err
	}
	return docs, append(findings, check(docs)...), nil
}

// check runs every check over the documents.
func check(docs []Doc) []Finding {
	out := validateMetadata(docs)
	out = append(out, defaultAndValidate(docs)...)
	r, dups := newRepo(docs)
	out = append(out, dups...)
	out = append(out, checkPipelines(r)...)
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *pipelinev1.PipelineRun:
			out = append(out, checkPipelineRun(d.String(), o, r)...)
		case *pipelinev1.Task:
			out = append(out, checkTaskRules(d.String(), o)...)
		}
	}
	return out
}
