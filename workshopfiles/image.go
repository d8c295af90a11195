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
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// image pulls an OCI image artifact straight from its registry and unpacks its layers
// into <Dir>/image-<digest>. The registry's manifest and blobs are checked against their
// digests as they are read. ref may carry "user:password@" before the registry.
func (f *Fetcher) image(ctx context.Context, ref string, insecure bool) (unpacked, error) {
	auth := authn.Anonymous
	if at := strings.LastIndex(strings.SplitN(ref, "/", 2)[0], "@"); at >= 0 {
		user, err := url.PathUnescape(ref[:at])
		if err != nil {
			return unpacked{}, fmt.Errorf("credentials of the image reference: %w", err)
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
		return unpacked{}, fmt.Errorf("not an image reference: %w", err)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth)}
	if t := f.client().Transport; t != nil {
		ropts = append(ropts, remote.WithTransport(t))
	}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return unpacked{}, fmt.Errorf("pull: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return unpacked{}, fmt.Errorf("pull: %w", err)
	}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != digest.String() {
		return unpacked{}, fmt.Errorf("the registry gave an image of digest %s, not %s", digest, d.DigestStr())
	}
	layers, err := img.Layers()
	if err != nil {
		return unpacked{}, fmt.Errorf("pull: %w", err)
	}
	var total int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return unpacked{}, fmt.Errorf("pull: %w", err)
		}
		if total += n; total > f.maxBytes() {
			return unpacked{}, fmt.Errorf("the image is larger than %s", size(f.maxBytes()))
		}
	}
	u := unpacked{Digest: digest.String()}
	u.Dir = filepath.Join(f.Dir, "image-"+digest.Hex)
	if _, err := os.Stat(u.Dir); err == nil {
		return u, nil
	}
	_, err = f.publish(u.Dir, func(tmp string) error {
		w := &writer{dir: tmp, maxBytes: f.maxBytes(), maxFiles: f.maxFiles()}
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
	})
	return u, err
}
