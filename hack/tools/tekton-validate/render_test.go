package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoTekton is the repository's tekton/ folder.
var repoTekton = filepath.Join("..", "..", "..", "tekton")

const testSecret = "techcommerce-test-webhook-secret"

func newTestRenderer(t *testing.T) *renderer {
	t.Helper()
	docs, findings, err := loadDocs([]string{repoTekton})
	if err != nil || len(findings) > 0 {
		t.Fatalf("loading %s: %v %v", repoTekton, err, findings)
	}
	repo, _ := newRepo(docs)
	if len(repo.EventListeners) != 1 {
		t.Fatalf("want one EventListener, got %d", len(repo.EventListeners))
	}
	el := repo.EventListeners[0]
	secrets := fileSecrets{el.Namespace + "/github-webhook-secret/secret": []byte(testSecret)}
	return &renderer{listener: el, repo: repo, secrets: secrets, namespace: el.Namespace}
}

// pushDelivery is a signed GitHub push of one commit to branch.
func pushDelivery(t *testing.T, branch string) Delivery {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"ref":        "refs/heads/" + branch,
		"before":     "9f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c",
		"after":      "4e8d2c6b1a0f9e8d7c6b5a493827161504f3e2d1",
		"deleted":    false,
		"repository": map[string]any{"name": "techcommerce", "clone_url": "https://github.com/techcommerce/techcommerce.git"},
		"commits": []map[string]any{{
			"added": []string{}, "removed": []string{}, "modified": []string{"services/frontend/cart.py"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-GitHub-Event", "push")
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return Delivery{Name: branch, Headers: h, Body: body}
}

// referenceBranchLabel is the rule tekton/triggers/eventlistener.yaml's branch-label
// interceptor writes in CEL, written again in Go.
func referenceBranchLabel(branch string) string {
	lower := []byte(branch)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	s := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(string(lower), "-")
	s = strings.Trim(s, "-")
	if s == branch && len(branch) <= 63 {
		return s
	}
	base := "branch"
	if s != "" {
		base = strings.TrimRight(s[:min(len(s), 56)], "-")
	}
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	var hash int64
	for i, c := range base64.StdEncoding.EncodeToString([]byte(branch)) {
		w := int64(i)*65 + 1 + int64(strings.IndexRune(b64, c))
		w = (w*1103515245 + 12345) % 2147483647
		w = ((w ^ (w >> 15)) * 1597334677) % 2147483647
		w = ((w ^ (w >> 13)) * 1914874781) % 2147483647
		hash ^= w ^ (w >> 16)
	}
	const b32 = "0123456789abcdefghijklmnopqrstuv"
	suffix := make([]byte, 6)
	for c := range suffix {
		suffix[c] = b32[(hash>>(5*c))&31]
	}
	return base + "-" + string(suffix)
}

func randomBranch(rng *rand.Rand) string {
	alphabet := []rune("abcXYZ019_-./@+éü日€ ")
	n := 1 + rng.Intn(120)
	out := make([]rune, n)
	for i := range out {
		out[i] = alphabet[rng.Intn(len(alphabet))]
	}
	return string(out)
}

// TestBranchLabelCELMatchesTheRule sends pushes through Triggers' real sink and CEL
// interceptor and compares the label with the rule written in Go: the CEL computes what the
// documentation says, and every created run passes Kubernetes' and Tekton's validation.
func TestBranchLabelCELMatchesTheRule(t *testing.T) {
	r := newTestRenderer(t)
	rng := rand.New(rand.NewSource(14))
	branches := []string{"main", "feature-cart-v2", "Feature/ABC-123", "fix_login", "fix.login",
		"feature/café", "wip-", "___", "日本語", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("x", 200)}
	for range 60 {
		branches = append(branches, randomBranch(rng))
	}
	labels := map[string]string{}
	for _, branch := range branches {
		out, err := r.deliver(pushDelivery(t, branch))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.PipelineRuns) != 1 || len(out.Findings) != 0 {
			t.Fatalf("branch %q: %d runs, findings %v, log %v", branch, len(out.PipelineRuns), out.Findings, out.Log)
		}
		var pr struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(out.PipelineRuns[0], &pr); err != nil {
			t.Fatal(err)
		}
		got := pr.Metadata.Labels["techcommerce.dev/branch"]
		if want := referenceBranchLabel(branch); got != want {
			t.Errorf("branch %q: label %q, the rule gives %q", branch, got, want)
		}
		if pr.Metadata.Annotations["techcommerce.dev/branch"] != branch {
			t.Errorf("branch %q: annotation %q", branch, pr.Metadata.Annotations["techcommerce.dev/branch"])
		}
		if other, seen := labels[got]; seen && other != branch {
			t.Errorf("branches %q and %q share label %q", other, branch, got)
		}
		labels[got] = branch
	}
}

// TestBranchHashSpreads checks the Go rule (which the test above ties to the CEL) on names
// that all sanitise to the same text: 30 bits of hash, no collision among 20,000 of them.
func TestBranchHashSpreads(t *testing.T) {
	seps := []string{"_", ".", "/", "--", "_-", "._", "@", "+"}
	seen := map[string]string{}
	for i := range 20000 {
		name := "f"
		for gap, n := 0, i; gap < 5; gap, n = gap+1, n/len(seps) {
			name += seps[n%len(seps)] + "ixlog"[gap:gap+1]
		}
		label := referenceBranchLabel(name + "in")
		if !strings.HasPrefix(label, "f-i-x-l-o-gin-") {
			t.Fatalf("%q gives %q", name+"in", label)
		}
		if other, ok := seen[label]; ok {
			t.Fatalf("%q and %q both give %q", other, name+"in", label)
		}
		seen[label] = name + "in"
	}
}

func TestValidateCreatedReportsKubernetesFindings(t *testing.T) {
	r := newTestRenderer(t)
	raw := []byte(`{"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"generateName":"ci-Fix_Login-","namespace":"techcommerce-ci","labels":{"techcommerce.dev/branch":"wip-"}},"spec":{"pipelineRef":{"name":"ci"}}}`)
	findings := r.validateCreated(raw)
	for _, want := range []string{"kubernetes: metadata.generateName", "kubernetes: metadata.labels"} {
		if !findingsContain(findings, want) {
			t.Errorf("want %q in %v", want, findings)
		}
	}
}

func TestReadDeliveryParsesGitHubsHeaderLines(t *testing.T) {
	dir := t.TempDir()
	headers, body := filepath.Join(dir, "d.headers"), filepath.Join(dir, "d.json")
	os.WriteFile(headers, []byte("POST / HTTP/1.1\n# a comment\nx-github-event: push\nContent-Type: application/json\n\n"), 0o600)
	os.WriteFile(body, []byte(`{"zen":"hi"}`), 0o600)
	d, err := readDelivery(headers, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Headers.Get("X-GitHub-Event") != "push" || string(d.Body) != `{"zen":"hi"}` || len(d.Headers) != 2 {
		t.Errorf("delivery %+v", d)
	}
	os.WriteFile(headers, []byte("not a header line\n"), 0o600)
	if _, err := readDelivery(headers, body); err == nil {
		t.Error("a line without a colon must be an error")
	}
}
