package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Doc is one decoded YAML document.
type Doc struct {
	Path   string
	Index  int // position of the document in its file
	Kind   string
	Name   string
	Object any // pointer to the typed object; nil for kinds that are only listed (Kustomization)
}

func (d Doc) String() string {
	return fmt.Sprintf("%s[%d] %s/%s", d.Path, d.Index, d.Kind, d.Name)
}

// newObject returns an empty typed object for apiVersion+kind, or an error for a kind this tool
// does not know (a typo in kind or apiVersion is an error, not something to skip).
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "tekton.dev/v1 Task":
		return &pipelinev1.Task{}, nil
	case "tekton.dev/v1 Pipeline":
		return &pipelinev1.Pipeline{}, nil
	case "tekton.dev/v1 PipelineRun":
		return &pipelinev1.PipelineRun{}, nil
	case "tekton.dev/v1 TaskRun":
		return &pipelinev1.TaskRun{}, nil
	case "triggers.tekton.dev/v1beta1 EventListener":
		return &triggersv1.EventListener{}, nil
	case "triggers.tekton.dev/v1beta1 Trigger":
		return &triggersv1.Trigger{}, nil
	case "triggers.tekton.dev/v1beta1 TriggerBinding":
		return &triggersv1.TriggerBinding{}, nil
	case "triggers.tekton.dev/v1beta1 ClusterTriggerBinding":
		return &triggersv1.ClusterTriggerBinding{}, nil
	case "triggers.tekton.dev/v1beta1 TriggerTemplate":
		return &triggersv1.TriggerTemplate{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}, nil
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return &rbacv1.ClusterRole{}, nil
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, nil
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return nil, nil
	}
	return nil, fmt.Errorf("unsupported apiVersion/kind %q/%q", apiVersion, kind)
}

// decodeStrict decodes JSON into obj as strictly as the Kubernetes API server's strict field
// validation (kubectl's default): field names are case-sensitive, and unknown or duplicate
// fields are errors. (knative's webhook decoder, which Tekton's admission uses, also rejects
// unknown fields but matches names case-insensitively, so this is the stricter of the two.)
func decodeStrict(data []byte, obj any) error {
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// decodeYAMLDoc turns one YAML document into a typed object. Duplicate keys are errors.
func decodeYAMLDoc(raw []byte) (kind, name string, obj any, err error) {
	data, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return "", "", nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var tm struct {
		metav1.TypeMeta
		Metadata struct {
			Name         string `json:"name"`
			GenerateName string `json:"generateName"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &tm); err != nil {
		return "", "", nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	name = tm.Metadata.Name
	if name == "" {
		name = tm.Metadata.GenerateName + "*"
	}
	obj, err = newObject(tm.APIVersion, tm.Kind)
	if err != nil || obj == nil {
		return tm.Kind, name, nil, err
	}
	if err := decodeStrict(data, obj); err != nil {
		return tm.Kind, name, nil, fmt.Errorf("strict decoding failed: %w", err)
	}
	return tm.Kind, name, obj, nil
}

// yamlFiles expands files and directories (recursively) into a sorted list of .yaml/.yml files.
func yamlFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil // dot files are tool configuration (.tektonlintrc.yaml), not resources
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// loadDocs decodes every document of every file. Problems are returned as findings, not errors,
// so one run reports all of them.
func loadDocs(paths []string) ([]Doc, []Finding, error) {
	files, err := yamlFiles(paths)
	if err != nil {
		return nil, nil, err
	}
	var docs []Doc
	var findings []Finding
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, err
		}
		reader := k8syaml.NewYAMLReader(bufio.NewReader(f))
		for i := 0; ; i++ {
			raw, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				findings = append(findings, Finding{Where: fmt.Sprintf("%s[%d]", file, i), Msg: err.Error()})
				break
			}
			if len(bytes.TrimSpace(stripComments(raw))) == 0 {
				i--
				continue
			}
			kind, name, obj, err := decodeYAMLDoc(raw)
			doc := Doc{Path: file, Index: i, Kind: kind, Name: name, Object: obj}
			if err != nil {
				findings = append(findings, Finding{Where: doc.String(), Msg: err.Error()})
				continue
			}
			docs = append(docs, doc)
		}
		f.Close()
	}
	return docs, findings, nil
}

func stripComments(raw []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
