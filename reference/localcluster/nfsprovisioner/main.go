// Command nfs-provisioner is nfs-subdir-external-provisioner's behaviour on its upstream
// controller library, against a local directory that stands in for the NFS export.
//
// The library's ProvisionController watches claims, volumes and classes, creates the
// PersistentVolume with its claimRef and provisioned-by annotation, records events and
// calls Delete for Released volumes with the Delete reclaim policy.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const resync = 15 * time.Minute

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig with this provisioner's client certificate")
	export := flag.String("export", "", "directory standing in for the NFS export")
	name := flag.String("name", "", "provisioner name StorageClasses ask for")
	server := flag.String("server", "", "NFS server written into each PersistentVolume")
	readyFile := flag.String("ready-file", "", "written with this process's PID once the controller runs on synced caches")
	klog.InitFlags(nil)
	flag.Parse()
	for flagName, value := range map[string]string{"kubeconfig": *kubeconfig, "export": *export,
		"name": *name, "server": *server, "ready-file": *readyFile} {
		if value == "" {
			fmt.Fprintf(os.Stderr, "nfs-provisioner: --%s is required\n", flagName)
			os.Exit(2)
		}
	}
	if err := run(*kubeconfig, *export, *name, *server, *readyFile); err != nil {
		fmt.Fprintf(os.Stderr, "nfs-provisioner: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, export, name, server, readyFile string) error {
	root, err := exportRoot(export)
	if err != nil {
		return err
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	// The controller's informers are ours, so readiness can wait for the same caches the
	// controller's workers wait for.
	factory := informers.NewSharedInformerFactory(client, resync)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	classes := factory.Storage().V1().StorageClasses()
	classInformer := classes.Informer()
	lister := classes.Lister()
	provisioner := &nfsProvisioner{export: root, server: server,
		class: func(n string) (*storagev1.StorageClass, error) { return lister.Get(n) }}
	ctrl := controller.NewProvisionController(ctx, client, name, provisioner,
		// One provisioner per local cluster: nothing to elect.
		controller.LeaderElection(false),
		controller.ClaimsInformer(claims),
		controller.VolumesInformer(volumes),
		controller.ClassesInformer(classInformer),
	)
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctrl.Run(ctx)
	}()
	klog.InfoS("nfs-provisioner starting", "name", name, "export", root, "server", server)
	if !cache.WaitForCacheSync(ctx.Done(), claims.HasSynced, volumes.HasSynced,
		classInformer.HasSynced) {
		return fmt.Errorf("stopped before the caches synced")
	}
	for !ctrl.HasRun() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := writeReady(readyFile); err != nil {
		return err
	}
	klog.InfoS("nfs-provisioner ready", "readyFile", readyFile)
	<-done
	factory.Shutdown()
	return nil
}

func exportRoot(export string) (string, error) {
	if err := os.MkdirAll(export, 0o755); err != nil {
		return "", fmt.Errorf("export %s: %w", export, err)
	}
	abs, err := filepath.Abs(export)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// writeReady renames a complete file into place, so a reader never sees half a PID.
func writeReady(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
