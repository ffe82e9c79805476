package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Config is v8's s3 storage block (spec §9).
type S3Config struct {
	// Key and Secret are static credentials; without Key the default AWS
	// credential chain (environment, shared files, instance role) is used.
	Key, Secret string
	Region      string
	Bucket      string
	// Endpoint, for S3-compatible stores, also forces path-style
	// addressing, as v8 did.
	Endpoint string
	// Root is v8's root or thumb_root: a key prefix inside the bucket.
	Root string
	// ACL and CacheControl are v8's options.ACL and options.CacheControl,
	// applied to every write.
	ACL, CacheControl string
}

// S3 is a storage root under a key prefix of an S3 bucket.
type S3 struct {
	client                 *s3.Client
	bucket, prefix         string
	acl, cacheControl      string
	conditionalUnsupported atomic.Bool
}

// NewS3 returns the root cfg describes. It does not contact the store.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if cfg.Key != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.Key, cfg.Secret, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
		// Many S3-compatible stores reject the newer default checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	// Flysystem 1's rule: the root, without surrounding slashes, then one.
	prefix := strings.Trim(cfg.Root, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix, acl: cfg.ACL, cacheControl: cfg.CacheControl}, nil
}

// String returns s3://bucket/prefix.
func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *S3) key(name string) (string, error) {
	name, err := CleanName(name)
	if err != nil {
		return "", err
	}
	return s.prefix + name, nil
}

func statusOf(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func (s *S3) head(ctx context.Context, name string) (string, Info, *string, error) {
	key, err := s.key(name)
	if err != nil {
		return "", Info{}, nil, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if statusOf(err) == 404 {
		return "", Info{}, nil, fmt.Errorf("%w: %q", ErrNotExist, name)
	}
	if err != nil {
		return "", Info{}, nil, fmt.Errorf("s3 head %q: %w", name, err)
	}
	return key, Info{Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, out.ETag, nil
}

// Stat describes the object name.
func (s *S3) Stat(ctx context.Context, name string) (Info, error) {
	_, info, _, err := s.head(ctx, name)
	return info, err
}

// Open returns the object name as a seekable reader. Nothing is downloaded
// until the first Read, and each read after a Seek asks the store for that
// range only, so Range requests pass through to S3.
func (s *S3) Open(ctx context.Context, name string) (Object, Info, error) {
	key, info, etag, err := s.head(ctx, name)
	if err != nil {
		return nil, Info{}, err
	}
	return &s3Object{ctx: ctx, s: s, key: key, etag: etag, size: info.Size}, info, nil
}

type s3Object struct {
	ctx    context.Context
	s      *S3
	key    string
	etag   *string
	size   int64
	offset int64
	body   io.ReadCloser
}

func (o *s3Object) Read(p []byte) (int, error) {
	if o.offset >= o.size {
		return 0, io.EOF
	}
	if o.body == nil {
		// If-Match: the bytes must be those of the object Open described.
		out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{
			Bucket: &o.s.bucket, Key: &o.key, IfMatch: o.etag,
			Range: aws.String(fmt.Sprintf("bytes=%d-", o.offset)),
		})
		if err != nil {
			return 0, fmt.Errorf("s3 get %q: %w", o.key, err)
		}
		o.body = out.Body
	}
	n, err := o.body.Read(p)
	o.offset += int64(n)
	if errors.Is(err, io.EOF) && o.offset < o.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	var next int64
	switch whence {
	case io.SeekStart:
		next = offset
	case io.SeekCurrent:
		next = o.offset + offset
	case io.SeekEnd:
		next = o.size + offset
	default:
		return 0, errors.New("s3 object: bad whence")
	}
	if next < 0 {
		return 0, errors.New("s3 object: negative position")
	}
	if next != o.offset && o.body != nil {
		o.body.Close()
		o.body = nil
	}
	o.offset = next
	return next, nil
}

func (o *s3Object) Close() error {
	if o.body != nil {
		return o.body.Close()
	}
	return nil
}

// Create uploads data as name with the configured ACL and Cache-Control.
// Without replace the upload is conditional (If-None-Match: *), so when
// several instances generate the same file only the first write lands; the
// others' 412 counts as success. Stores that do not support the condition
// get a plain PUT.
func (s *S3) Create(ctx context.Context, name string, data []byte, replace bool) (Info, error) {
	key, err := s.key(name)
	if err != nil {
		return Info{}, err
	}
	in := &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		in.ContentType = aws.String(ct)
	}
	if s.acl != "" {
		in.ACL = types.ObjectCannedACL(s.acl)
	}
	if s.cacheControl != "" {
		in.CacheControl = aws.String(s.cacheControl)
	}
	if !replace && !s.conditionalUnsupported.Load() {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = s.client.PutObject(ctx, in)
	if err != nil && in.IfNoneMatch != nil && conditionUnsupported(err) {
		s.conditionalUnsupported.Store(true)
		in.IfNoneMatch = nil
		in.Body = bytes.NewReader(data)
		_, err = s.client.PutObject(ctx, in)
	}
	// 412: the object exists (another writer won); 409: another write of it
	// is in progress. Either way the object is, or is about to be, there:
	// wait a little for the other write to land.
	st := statusOf(err)
	if err != nil && st != 412 && st != 409 {
		return Info{}, fmt.Errorf("s3 put %q: %w", name, err)
	}
	info, err := s.Stat(ctx, name)
	for wait := 10 * time.Millisecond; errors.Is(err, ErrNotExist) && st == 409 && wait < 3*time.Second; wait *= 2 {
		select {
		case <-ctx.Done():
			return Info{}, ctx.Err()
		case <-time.After(wait):
		}
		info, err = s.Stat(ctx, name)
	}
	return info, err
}

func conditionUnsupported(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NotImplemented" {
		return true
	}
	return statusOf(err) == 501
}

// List returns the names of the objects below dir ("." for all).
func (s *S3) List(ctx context.Context, dir string) ([]string, error) {
	prefix := s.prefix
	if dir != "." {
		key, err := s.key(dir)
		if err != nil {
			return nil, err
		}
		prefix = key + "/"
	}
	var names []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return names, fmt.Errorf("s3 list %q: %w", prefix, err)
		}
		for _, obj := range page.Contents {
			names = append(names, strings.TrimPrefix(aws.ToString(obj.Key), s.prefix))
		}
	}
	return names, nil
}

// Remove deletes the object name.
func (s *S3) Remove(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("s3 delete %q: %w", name, err)
	}
	return nil
}

// Check lists at most one key under the prefix: the bucket answers and the
// credentials may read it. Writability is not probed, which would leave an
// object behind on every readiness check.
func (s *S3) Check(ctx context.Context, _ bool) error {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &s.prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("s3 %s: %w", s, err)
	}
	return nil
}
