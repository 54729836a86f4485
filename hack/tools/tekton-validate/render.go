package main

// render: what the EventListener would create for a webhook delivery, computed with Triggers'
// own code. The delivery goes through the real sink (pkg/sink: payload validation, trigger
// groups, label selection, interceptor chaining, binding and template resolution, resource
// creation), whose interceptor calls reach Triggers' real core interceptors (pkg/interceptors/
// server: github, cel, ...) over loopback HTTP, exactly as in the cluster. The two things a
// cluster provides are stood in for: Kubernetes listers are filled from the repository's files,
// and the API server that would store the created PipelineRun is client-go's in-memory fake,
// from which the created objects are read back and then validated like `check` validates runs.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggersv1alpha1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1alpha1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	listersv1alpha1 "github.com/tektoncd/triggers/pkg/client/listers/triggers/v1alpha1"
	listers "github.com/tektoncd/triggers/pkg/client/listers/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/interceptors/server"
	"github.com/tektoncd/triggers/pkg/sink"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	fakedynamic "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
)

// fileSecrets answers the interceptors' secret look-ups from command-line values
// (NAMESPACE/NAME/KEY=VALUE) instead of the Kubernetes API.
type fileSecrets map[string][]byte

func (s fileSecrets) Get(_ context.Context, ns string, ref *triggersv1.SecretRef) ([]byte, error) {
	v, ok := s[ns+"/"+ref.SecretName+"/"+ref.SecretKey]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s has no key %q", ns, ref.SecretName, ref.SecretKey)
	}
	return v, nil
}

// Delivery is one webhook request: the headers file (HTTP header lines, as GitHub shows them
// under "Recent Deliveries") and the body file, sent byte for byte.
type Delivery struct {
	Name    string
	Headers http.Header
	Body    []byte
}

func readDelivery(headersPath, bodyPath string) (Delivery, error) {
	body, err := os.ReadFile(bodyPath)
	if err != nil {
		return Delivery{}, err
	}
	raw, err := os.ReadFile(headersPath)
	if err != nil {
		return Delivery{}, err
	}
	h := http.Header{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "POST ") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return Delivery{}, fmt.Errorf("%s: not a header line: %q", headersPath, line)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return Delivery{Name: bodyPath, Headers: h, Body: body}, nil
}

// Outcome is what the EventListener did with one delivery.
type Outcome struct {
	Delivery     string            `json:"delivery"`
	Status       int               `json:"status"`
	PipelineRuns []json.RawMessage `json:"pipelineRuns"`
	Findings     []string          `json:"findings"`
	Log          []string          `json:"log"`
}

type renderer struct {
	listener  *triggersv1.EventListener
	repo      *Repo
	secrets   fileSecrets
	namespace string
}

func (r *renderer) deliver(d Delivery) (Outcome, error) {
	out := Outcome{Delivery: d.Name, PipelineRuns: []json.RawMessage{}, Findings: []string{}, Log: []string{}}

	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core).Sugar()

	// Triggers' core interceptors, served over loopback as the ClusterInterceptors would be.
	is, err := server.NewWithCoreInterceptors(r.secrets, logger)
	if err != nil {
		return out, err
	}
	srv := httptest.NewServer(is)
	defer srv.Close()

	s := sink.Sink{
		EventListenerName:      r.listener.Name,
		EventListenerNamespace: r.namespace,
		Logger:                 logger,
		HTTPClient:             srv.Client(),
		PayloadValidation:      true,
		WGProcessTriggers:      &sync.WaitGroup{},
	}
	if s.Recorder, err = sink.NewRecorder(); err != nil {
		return out, err
	}

	indexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	var interceptors []*triggersv1alpha1.ClusterInterceptor
	for _, name := range []string{"github", "cel", "gitlab", "bitbucket", "slack"} {
		u, err := apis.ParseURL(srv.URL + "/" + name)
		if err != nil {
			return out, err
		}
		interceptors = append(interceptors, &triggersv1alpha1.ClusterInterceptor{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       triggersv1alpha1.ClusterInterceptorSpec{ClientConfig: triggersv1alpha1.ClientConfig{URL: u}},
		})
	}
	els, trs, tbs, ctbs, tts, cis := indexer(), indexer(), indexer(), indexer(), indexer(), indexer()
	if err := errors.Join(
		addAll(els, []*triggersv1.EventListener{r.listener}),
		addAll(trs, r.repo.Triggers),
		addAll(tbs, r.repo.TriggerBindings),
		addAll(ctbs, r.repo.ClusterTriggerBindings),
		addAll(tts, r.repo.TriggerTemplates),
		addAll(cis, interceptors),
	); err != nil {
		return out, err
	}
	s.EventListenerLister = listers.NewEventListenerLister(els)
	s.TriggerLister = listers.NewTriggerLister(trs)
	s.TriggerBindingLister = listers.NewTriggerBindingLister(tbs)
	s.ClusterTriggerBindingLister = listers.NewClusterTriggerBindingLister(ctbs)
	s.TriggerTemplateLister = listers.NewTriggerTemplateLister(tts)
	s.ClusterInterceptorLister = listersv1alpha1.NewClusterInterceptorLister(cis)
	s.InterceptorLister = listersv1alpha1.NewInterceptorLister(indexer())

	// The API server: discovery knows Tekton's PipelineRun; creates are recorded.
	discovery := &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{}}
	discovery.Resources = []*metav1.APIResourceList{{
		GroupVersion: "tekton.dev/v1",
		APIResources: []metav1.APIResource{{Name: "pipelineruns", Kind: "PipelineRun", Namespaced: true}},
	}}
	s.DiscoveryClient = discovery
	dynamic := fakedynamic.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{{Group: "tekton.dev", Version: "v1", Resource: "pipelineruns"}: "PipelineRunList"})
	var mu sync.Mutex
	var created []*unstructured.Unstructured
	dynamic.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).DeepCopy()
		if obj.GetNamespace() == "" {
			obj.SetNamespace(a.GetNamespace()) // as the API server does for a namespaced create
		}
		mu.Lock()
		defer mu.Unlock()
		created = append(created, obj)
		return true, obj, nil
	})
	s.DynamicClient = dynamic

	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(d.Body))
	req.Header = d.Headers.Clone()
	rec := httptest.NewRecorder()
	s.IsValidPayload(http.HandlerFunc(s.HandleEvent)).ServeHTTP(rec, req)
	s.WGProcessTriggers.Wait()
	out.Status = rec.Code

	for _, e := range logs.All() {
		if e.Level >= zapcore.InfoLevel {
			out.Log = append(out.Log, e.Message)
		}
	}
	sort.Slice(created, func(i, j int) bool { return created[i].GetGenerateName() < created[j].GetGenerateName() })
	for _, obj := range created {
		raw, err := obj.MarshalJSON()
		if err != nil {
			return out, err
		}
		out.PipelineRuns = append(out.PipelineRuns, raw)
		out.Findings = append(out.Findings, r.validateCreated(raw)...)
	}
	return out, nil
}

// addAll puts objects into the indexer that a lister reads them from.
func addAll[T any](indexer cache.Indexer, objects []T) error {
	for _, o := range objects {
		if err := indexer.Add(o); err != nil {
			return err
		}
	}
	return nil
}

// A TriggerTemplate param that no binding gives and that has no default is not an error in
// Triggers: the created object keeps the placeholder text, which only fails later, in a step.
var unresolvedTemplateParam = regexp.MustCompile(`\$\(tt\.params\.[^)]*\)`)

// validateCreated checks a created object as the API server (Kubernetes' metadata rules) and
// Tekton's webhook would, and against the repository's Pipeline.
func (r *renderer) validateCreated(raw []byte) []string {
	var findings []string
	for _, p := range unresolvedTemplateParam.FindAll(raw, -1) {
		findings = append(findings, fmt.Sprintf(
			"created object keeps %s: no binding of the trigger gives that param and the TriggerTemplate has no default", p))
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(raw); err != nil {
		return append(findings, "created object: "+err.Error())
	}
	where := fmt.Sprintf("created %s %s*", obj.GetKind(), obj.GetGenerateName()+obj.GetName())
	for _, msg := range validateObjectMeta(obj.GetKind(), obj) {
		findings = append(findings, where+": "+msg)
	}
	pr := &pipelinev1.PipelineRun{}
	if err := decodeStrict(raw, pr); err != nil {
		return append(findings, "created object: strict decoding failed: "+err.Error())
	}
	if pr.Kind != "PipelineRun" || pr.APIVersion != "tekton.dev/v1" {
		return append(findings, fmt.Sprintf("created %s %s, not a tekton.dev/v1 PipelineRun", pr.APIVersion, pr.Kind))
	}
	doc := Doc{Path: "created", Kind: "PipelineRun", Name: pr.GenerateName + "*", Object: pr}
	for _, f := range defaultAndValidate([]Doc{doc}) {
		findings = append(findings, f.String())
	}
	for _, f := range checkPipelineRun(doc.String(), pr, r.repo) {
		findings = append(findings, f.String())
	}
	return findings
}

func runRender(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var resources, secrets multiFlag
	fs.Var(&resources, "resources", "file or directory of Tekton resources (repeatable)")
	fs.Var(&secrets, "secret", "NAMESPACE/NAME/KEY=VALUE for the interceptors (repeatable)")
	listenerName := fs.String("listener", "", "EventListener name (default: the only one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(resources) == 0 || fs.NArg() == 0 || fs.NArg()%2 != 0 {
		fmt.Fprintln(stderr, "usage: hack/tekton-validate render -resources DIR [-secret NS/NAME/KEY=VALUE] HEADERS BODY [HEADERS BODY...] (--help for more)")
		return 2
	}
	docs, findings, err := loadAndCheck(resources)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if len(findings) > 0 {
		for _, f := range findings {
			fmt.Fprintln(stderr, f)
		}
		fmt.Fprintln(stderr, "render: the resources do not validate")
		return 1
	}
	repo, _ := newRepo(docs)
	var listener *triggersv1.EventListener
	for _, el := range repo.EventListeners {
		if *listenerName == "" || el.Name == *listenerName {
			if listener != nil {
				fmt.Fprintln(stderr, "render: several EventListeners: choose one with -listener")
				return 2
			}
			listener = el
		}
	}
	if listener == nil {
		fmt.Fprintln(stderr, "render: no such EventListener")
		return 2
	}
	sec := fileSecrets{}
	for _, s := range secrets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.Count(k, "/") != 2 {
			fmt.Fprintf(stderr, "render: bad -secret %q\n", s)
			return 2
		}
		sec[k] = []byte(v)
	}
	r := &renderer{listener: listener, repo: repo, secrets: sec, namespace: listener.Namespace}
	var outcomes []Outcome
	rest := fs.Args()
	for i := 0; i < len(rest); i += 2 {
		d, err := readDelivery(rest[i], rest[i+1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		o, err := r.deliver(d)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		outcomes = append(outcomes, o)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(outcomes); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, o := range outcomes {
		if len(o.Findings) > 0 {
			fmt.Fprintf(stderr, "render: %s created an invalid PipelineRun\n", o.Delivery)
			return 1
		}
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*m = append(*m, v)
	return nil
}
