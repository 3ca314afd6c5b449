package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/util"
)

// classLookup finds a StorageClass by name; Delete reads onDelete and archiveOnDelete there.
type classLookup func(name string) (*storagev1.StorageClass, error)

// nfsProvisioner lays volumes out as sub-directories of one NFS export. The export is a
// local directory here, mounted nowhere: the NFS server path and the local path coincide.
type nfsProvisioner struct {
	export string
	server string
	class  classLookup
}

var _ controller.Provisioner = (*nfsProvisioner)(nil)

func (p *nfsProvisioner) Provision(_ context.Context, opts controller.ProvisionOptions,
) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	pvc := opts.PVC
	if pvc.Spec.Selector != nil {
		// A dynamically provisioned volume cannot match a selector the claim sets.
		return nil, controller.ProvisioningFinished, errors.New("claim Selector is not supported")
	}
	dir, err := p.inside(subPath(opts.StorageClass.Parameters["pathPattern"], pvc, opts.PVName))
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished,
			fmt.Errorf("unable to create directory to provision new pv: %w", err)
	}
	// MkdirAll's mode passes through the umask; pods of any UID must be able to write.
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	klog.InfoS("provisioned", "pv", opts.PVName, "pvc", klog.KObj(pvc), "path", dir)
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   pvc.Spec.AccessModes,
			MountOptions:                  opts.StorageClass.MountOptions,
			VolumeMode:                    pvc.Spec.VolumeMode,
			Capacity: v1.ResourceList{
				v1.ResourceStorage: pvc.Spec.Resources.Requests[v1.ResourceStorage],
			},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				NFS: &v1.NFSVolumeSource{Server: p.server, Path: dir, ReadOnly: false},
			},
		},
	}, controller.ProvisioningFinished, nil
}

// Delete runs for a Released volume whose reclaim policy is Delete: onDelete (delete or
// retain) decides first, then archiveOnDelete (default true) archives the directory to
// archived-<basename> at the export's top level or removes it.
func (p *nfsProvisioner) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.NFS == nil {
		return &controller.IgnoredError{Reason: "not an NFS volume"}
	}
	dir, err := p.inside(pv.Spec.NFS.Path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		klog.InfoS("directory already gone", "pv", pv.Name, "path", dir)
		return nil
	}
	class, err := p.class(util.GetPersistentVolumeClass(pv))
	if err != nil {
		return err
	}
	switch class.Parameters["onDelete"] {
	case "delete":
		return p.remove(pv, dir)
	case "retain":
		klog.InfoS("retained", "pv", pv.Name, "path", dir)
		return nil
	}
	if raw, set := class.Parameters["archiveOnDelete"]; set {
		archive, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("storage class %s: archiveOnDelete: %w", class.Name, err)
		}
		if !archive {
			return p.remove(pv, dir)
		}
	}
	archived := filepath.Join(p.export, "archived-"+filepath.Base(dir))
	klog.InfoS("archived", "pv", pv.Name, "path", dir, "to", archived)
	return os.Rename(dir, archived)
}

func (p *nfsProvisioner) remove(pv *v1.PersistentVolume, dir string) error {
	klog.InfoS("deleted", "pv", pv.Name, "path", dir)
	return os.RemoveAll(dir)
}

// inside resolves a path against the export and refuses anything that is not strictly
// below it: a pattern can expand annotations, and Delete must never leave the export.
func (p *nfsProvisioner) inside(path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.export, path)
	}
	path = filepath.Clean(path)
	if !strings.HasPrefix(path, p.export+string(filepath.Separator)) {
		return "", fmt.Errorf("path %s is not inside the export %s", path, p.export)
	}
	return path, nil
}
