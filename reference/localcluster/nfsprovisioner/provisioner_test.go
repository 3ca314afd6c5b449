package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const seedPattern = "${.PVC.namespace}/${.PVC.name}"

func seedClaim() *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "vinylvault-local", Name: "data-mongodb-bff-0",
			UID: "u1", Labels: map[string]string{"app": "mongodb"}, Annotations: map[string]string{}},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceStorage: resource.MustParse("10Gi")}},
		},
	}
}

func class(name string, policy v1.PersistentVolumeReclaimPolicy,
	params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name},
		Provisioner: "cluster.local/nfs-subdir-external-provisioner", ReclaimPolicy: &policy,
		Parameters: params}
}

func newProvisioner(t *testing.T, classes ...*storagev1.StorageClass) *nfsProvisioner {
	t.Helper()
	export, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*storagev1.StorageClass{}
	for _, c := range classes {
		byName[c.Name] = c
	}
	return &nfsProvisioner{export: export, server: "127.0.0.1",
		class: func(n string) (*storagev1.StorageClass, error) {
			if c, ok := byName[n]; ok {
				return c, nil
			}
			return nil, fmt.Errorf("storageclass %q not found", n)
		}}
}

func TestPathPatternOfTheSeedClass(t *testing.T) {
	if got := subPath(seedPattern, seedClaim(), "pvc-1"); got != "vinylvault-local/data-mongodb-bff-0" {
		t.Fatalf("got %q", got)
	}
}

func TestLabelsInThePatternAndTheDefaultLayout(t *testing.T) {
	if got := subPath("${.PVC.labels.app}/${.PVC.name}", seedClaim(), "pvc-1"); got != "mongodb/data-mongodb-bff-0" {
		t.Fatalf("labels: got %q", got)
	}
	if got := subPath("", seedClaim(), "pvc-1"); got != "vinylvault-local-data-mongodb-bff-0-pvc-1" {
		t.Fatalf("default: got %q", got)
	}
}

func TestPatternThatExpandsToNothingFallsBackToTheDefault(t *testing.T) {
	if got := subPath("/${.PVC.labels.missing}/", seedClaim(), "pvc-1"); got != "vinylvault-local-data-mongodb-bff-0-pvc-1" {
		t.Fatalf("got %q", got)
	}
	pvc := seedClaim()
	pvc.Annotations["example.com/team"] = "records"
	if got := subPath("${.PVC.annotations.example.com/team}/${.PVC.unknown}x", pvc, "pvc-1"); got != "records/x" {
		t.Fatalf("annotations: got %q", got)
	}
}

func TestProvisionCreatesTheDirectoryAndARetainedNfsVolume(t *testing.T) {
	sc := class("nfs-mongodb", v1.PersistentVolumeReclaimRetain, map[string]string{"pathPattern": seedPattern})
	p := newProvisioner(t, sc)
	pv, state, err := p.Provision(context.Background(), controller.ProvisionOptions{
		StorageClass: sc, PVName: "pvc-u1", PVC: seedClaim()})
	if err != nil || state != controller.ProvisioningFinished {
		t.Fatalf("state %v, err %v", state, err)
	}
	dir := filepath.Join(p.export, "vinylvault-local", "data-mongodb-bff-0")
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() || info.Mode().Perm() != 0o777 {
		t.Fatalf("directory %s: %v %v", dir, info, err)
	}
	if pv.Name != "pvc-u1" || pv.Spec.NFS == nil || pv.Spec.NFS.Path != dir || pv.Spec.NFS.Server != "127.0.0.1" {
		t.Fatalf("volume %+v", pv)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimRetain {
		t.Fatalf("reclaim policy %s", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	size := pv.Spec.Capacity[v1.ResourceStorage]
	if size.String() != "10Gi" || len(pv.Spec.AccessModes) != 1 || pv.Spec.AccessModes[0] != v1.ReadWriteOnce {
		t.Fatalf("capacity %s, access modes %v", size.String(), pv.Spec.AccessModes)
	}
}

func TestProvisionRefusesASelectorAndAPathOutsideTheExport(t *testing.T) {
	sc := class("nfs", v1.PersistentVolumeReclaimDelete, map[string]string{"pathPattern": "${.PVC.annotations.dir}"})
	p := newProvisioner(t, sc)
	pvc := seedClaim()
	pvc.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
	if _, _, err := p.Provision(context.Background(), controller.ProvisionOptions{
		StorageClass: sc, PVName: "pvc-u1", PVC: pvc}); err == nil {
		t.Fatal("a claim with a selector was provisioned")
	}
	for _, escape := range []string{"../outside", "."} {
		pvc = seedClaim()
		pvc.Annotations["dir"] = escape
		if _, _, err := p.Provision(context.Background(), controller.ProvisionOptions{
			StorageClass: sc, PVName: "pvc-u1", PVC: pvc}); err == nil {
			t.Fatalf("pattern expanding to %q was provisioned", escape)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p.export), "outside")); err == nil {
		t.Fatal("a directory was created outside the export")
	}
}

func releasedVolume(p *nfsProvisioner, className, dir string) *v1.PersistentVolume {
	return &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1"},
		Spec: v1.PersistentVolumeSpec{StorageClassName: className,
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource: v1.PersistentVolumeSource{
				NFS: &v1.NFSVolumeSource{Server: "127.0.0.1", Path: filepath.Join(p.export, dir)}}}}
}

func TestDeleteArchivesByDefaultAndDeletesWhenTold(t *testing.T) {
	p := newProvisioner(t,
		class("archive", v1.PersistentVolumeReclaimDelete, map[string]string{"archiveOnDelete": "true"}),
		class("unset", v1.PersistentVolumeReclaimDelete, nil),
		class("drop", v1.PersistentVolumeReclaimDelete, map[string]string{"archiveOnDelete": "false"}))
	for _, tc := range []struct{ class, dir, archived string }{
		{"archive", "ns/kept", "archived-kept"},
		{"unset", "ns/default", "archived-default"},
		{"drop", "ns/gone", ""},
	} {
		dir := filepath.Join(p.export, tc.dir)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(context.Background(), releasedVolume(p, tc.class, tc.dir)); err != nil {
			t.Fatalf("%s: %v", tc.class, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("%s: %s still exists", tc.class, dir)
		}
		_, err := os.Stat(filepath.Join(p.export, tc.archived))
		if tc.archived != "" && err != nil {
			t.Fatalf("%s: not archived: %v", tc.class, err)
		}
		if _, err := os.Stat(filepath.Join(p.export, "archived-gone")); err == nil {
			t.Fatalf("%s: archived although archiveOnDelete is false", tc.class)
		}
	}
}

func TestOnDeleteWinsOverArchiveOnDelete(t *testing.T) {
	p := newProvisioner(t,
		class("delete", v1.PersistentVolumeReclaimDelete, map[string]string{"onDelete": "delete", "archiveOnDelete": "true"}),
		class("retain", v1.PersistentVolumeReclaimDelete, map[string]string{"onDelete": "retain", "archiveOnDelete": "false"}))
	for _, name := range []string{"delete", "retain"} {
		dir := filepath.Join(p.export, name)
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(context.Background(), releasedVolume(p, name, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(p.export, "delete")); err == nil {
		t.Fatal("onDelete: delete kept the directory")
	}
	if _, err := os.Stat(filepath.Join(p.export, "archived-delete")); err == nil {
		t.Fatal("onDelete: delete archived the directory")
	}
	if _, err := os.Stat(filepath.Join(p.export, "retain")); err != nil {
		t.Fatalf("onDelete: retain removed the directory: %v", err)
	}
}

func TestDeleteNeverLeavesTheExport(t *testing.T) {
	p := newProvisioner(t, class("drop", v1.PersistentVolumeReclaimDelete, map[string]string{"archiveOnDelete": "false"}))
	outside := t.TempDir()
	pv := releasedVolume(p, "drop", "x")
	pv.Spec.NFS.Path = outside
	if err := p.Delete(context.Background(), pv); err == nil {
		t.Fatal("a volume outside the export was deleted")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("%s removed: %v", outside, err)
	}
	if err := p.Delete(context.Background(), releasedVolume(p, "bad-class", "x")); err != nil {
		t.Fatalf("a volume whose directory is gone must delete cleanly: %v", err)
	}
	if err := os.Mkdir(filepath.Join(p.export, "y"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(context.Background(), releasedVolume(p, "bad-class", "y")); err == nil {
		t.Fatal("a volume of a missing class was deleted (upstream retries until the class exists)")
	}
}
