package workshopfiles

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// image pulls an OCI image artifact straight from its registry and unpacks its layers
// into <Dir>/image-<digest>.
func (f *Fetcher) image(ctx context.Context, ref string, insecure bool) (unpacked, error) {
	img, digest, err := f.pull(ctx, ref, insecure)
	if err != nil {
		return unpacked{}, err
	}
	u := unpacked{Digest: digest.String()}
	u.Dir = filepath.Join(f.Dir, "image-"+digest.Hex)
	if _, err := os.Stat(u.Dir); err == nil {
		return u, nil
	}
	_, err = f.publish(u.Dir, func(tmp string) error {
		return f.unpackLayers(img, &writer{dir: tmp, maxBytes: f.maxBytes(), maxFiles: f.maxFiles()})
	})
	return u, err
}

// pull reads an image's manifest from its registry, checked against the digest ref names
// (if any), and bounds the size of its layers; their blobs are checked against their
// digests as they are read. ref may carry "user:password@" before the registry.
func (f *Fetcher) pull(ctx context.Context, ref string, insecure bool) (v1.Image, v1.Hash, error) {
	auth := authn.Anonymous
	if at := strings.LastIndex(strings.SplitN(ref, "/", 2)[0], "@"); at >= 0 {
		user, err := url.PathUnescape(ref[:at])
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("credentials of the image reference: %w", err)
		}
		u, p, _ := strings.Cut(user, ":")
		auth = authn.FromConfig(authn.AuthConfig{Username: u, Password: p})
		ref = ref[at+1:]
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("not an image reference: %w", err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	if t := f.client().Transport; t != nil {
		ropts = append(ropts, remote.WithTransport(t))
	}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("pull: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("pull: %w", err)
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest.String() {
		return nil, v1.Hash{}, fmt.Errorf("the registry gave an image of digest %s, not %s", digest, d.DigestStr())
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("pull: %w", err)
	}
	var total int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return nil, v1.Hash{}, fmt.Errorf("pull: %w", err)
		}
		if total += n; total > f.maxBytes() {
			return nil, v1.Hash{}, fmt.Errorf("the image is larger than %s", size(f.maxBytes()))
		}
	}
	return img, digest, nil
}

// unpackLayers writes img's layers in order through w, whiteouts applied.
func (f *Fetcher) unpackLayers(img v1.Image, w *writer) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("pull: %w", err)
		}
		err = w.tar(rc, true)
		rc.Close()
		if err != nil {
			return fmt.Errorf("unpack: %w", err)
		}
	}
	return nil
}
