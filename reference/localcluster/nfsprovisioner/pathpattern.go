package main

import (
	"regexp"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// A StorageClass's pathPattern names claim fields as ${.PVC.<field>}: namespace, name,
// labels.<key> or annotations.<key>. Any other field expands to nothing, as upstream.
var pvcField = regexp.MustCompile(`\$\{\.PVC\.([^}]*)\}`)

// subPath is the volume's directory relative to the export: the expanded pattern, or
// <namespace>-<claim>-<volume> when there is no pattern or it expands to nothing.
func subPath(pattern string, pvc *v1.PersistentVolumeClaim, pvName string) string {
	fallback := strings.Join([]string{pvc.Namespace, pvc.Name, pvName}, "-")
	if pattern == "" {
		return fallback
	}
	custom := pvcField.ReplaceAllStringFunc(pattern, func(ref string) string {
		return claimField(pvc, pvcField.FindStringSubmatch(ref)[1])
	})
	if custom = strings.Trim(custom, "/"); custom == "" {
		return fallback
	}
	return custom
}

func claimField(pvc *v1.PersistentVolumeClaim, field string) string {
	switch kind, key, _ := strings.Cut(field, "."); {
	case field == "namespace":
		return pvc.Namespace
	case field == "name":
		return pvc.Name
	case kind == "labels":
		return pvc.Labels[key]
	case kind == "annotations":
		return pvc.Annotations[key]
	}
	return ""
}
