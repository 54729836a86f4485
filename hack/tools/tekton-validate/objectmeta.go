package main

// Kubernetes' own checks of an object's metadata on create (k8s.io/apimachinery): the API
// server runs them, after it has turned generateName into a name, before any admission webhook
// sees the object, for built-in kinds and custom resources (Tekton's) alike. A name, label or
// annotation that fails them means the object is never created.

import (
	"sort"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxGeneratedNameLength is how much of generateName the API server keeps: it appends 5
// random characters and a name may have 63 (k8s.io/apiserver/pkg/storage/names).
const maxGeneratedNameLength = 63 - 5

// generatedName is the name the API server makes from generateName ("x7k2q" stands in for the
// 5 random lowercase alphanumerics).
func generatedName(generateName string) string {
	if len(generateName) > maxGeneratedNameLength {
		generateName = generateName[:maxGeneratedNameLength]
	}
	return generateName + "x7k2q"
}

// nameRule is the name validation the API server applies to a kind: most kinds, custom
// resources included, take a DNS subdomain; a few are stricter.
func nameRule(kind string) apivalidation.ValidateNameFunc {
	switch kind {
	case "Namespace":
		return apivalidation.ValidateNamespaceName
	case "Service":
		return apivalidation.NameIsDNS1035Label
	}
	return apivalidation.NameIsDNSSubdomain
}

// validateObjectMeta checks metadata as the API server does on create: generateName as a
// prefix, the name generated from it (or the given name), the namespace when the object names
// one (repository files may leave it to `kubectl apply -n`), label keys and values, annotation
// keys and their total size, owner references and finalizers. meta is not modified.
func validateObjectMeta(kind string, meta metav1.Object) []string {
	m := &metav1.ObjectMeta{
		Name:            meta.GetName(),
		GenerateName:    meta.GetGenerateName(),
		Namespace:       meta.GetNamespace(),
		Labels:          meta.GetLabels(),
		Annotations:     meta.GetAnnotations(),
		OwnerReferences: meta.GetOwnerReferences(),
		Finalizers:      meta.GetFinalizers(),
	}
	if m.Name == "" && m.GenerateName != "" {
		m.Name = generatedName(m.GenerateName)
	}
	errs := apivalidation.ValidateObjectMetaAccessor(m, m.Namespace != "", nameRule(kind), field.NewPath("metadata"))
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, "kubernetes: "+e.Error())
	}
	sort.Strings(out)
	return out
}
