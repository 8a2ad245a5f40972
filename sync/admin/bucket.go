package admin

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// DefaultRetentionDays is the default governance retention of new objects.
const DefaultRetentionDays = 365

// BucketState is what InitBucket found or made.
type BucketState struct {
	Bucket        string `json:"bucket"`
	Created       bool   `json:"created"` // false: it existed and was checked
	Versioning    string `json:"versioning"`
	ObjectLock    bool   `json:"object_lock"`
	RetentionMode string `json:"retention_mode"`
	RetentionDays uint   `json:"retention_days"`
}

// InitBucket creates the bucket with object lock (which turns versioning on)
// and sets a default GOVERNANCE retention of days. Run again it checks an
// existing bucket and updates the retention; a bucket made without object
// lock is an error, because lock can only be turned on at creation.
func InitBucket(ctx context.Context, cl *minio.Client, bucket string, days uint) (BucketState, error) {
	st := BucketState{Bucket: bucket}
	if days == 0 {
		return st, fmt.Errorf("bucket init %s: retention days must be at least 1", bucket)
	}
	exists, err := cl.BucketExists(ctx, bucket)
	if err != nil {
		return st, fmt.Errorf("bucket init %s: check bucket: %w", bucket, err)
	}
	if !exists {
		if err := cl.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
			return st, fmt.Errorf("bucket init %s: make bucket: %w", bucket, err)
		}
		st.Created = true
	} else {
		enabled, _, _, _, err := cl.GetObjectLockConfig(ctx, bucket)
		if err != nil && ErrorCode(err) != "ObjectLockConfigurationNotFoundError" {
			return st, fmt.Errorf("bucket init %s: read object lock: %w", bucket, err)
		}
		if enabled != "Enabled" {
			return st, fmt.Errorf("bucket init %s: the bucket exists without object lock, which can only be turned on when a bucket is made: use a new bucket name", bucket)
		}
	}
	mode := minio.Governance
	unit := minio.Days
	if err := cl.SetObjectLockConfig(ctx, bucket, &mode, &days, &unit); err != nil {
		return st, fmt.Errorf("bucket init %s: set default retention: %w", bucket, err)
	}
	d, err := DescribeBucket(ctx, cl, bucket)
	d.Created = st.Created
	return d, err
}

// DescribeBucket reads back versioning and object lock settings.
func DescribeBucket(ctx context.Context, cl *minio.Client, bucket string) (BucketState, error) {
	st := BucketState{Bucket: bucket}
	v, err := cl.GetBucketVersioning(ctx, bucket)
	if err != nil {
		return st, fmt.Errorf("read versioning of %s: %w", bucket, err)
	}
	st.Versioning = v.Status
	enabled, mode, validity, unit, err := cl.GetObjectLockConfig(ctx, bucket)
	if err != nil {
		return st, fmt.Errorf("read object lock of %s: %w", bucket, err)
	}
	st.ObjectLock = enabled == "Enabled"
	if mode != nil {
		st.RetentionMode = mode.String()
	}
	if validity != nil && unit != nil {
		st.RetentionDays = *validity
		if *unit == minio.Years {
			st.RetentionDays *= 365
		}
	}
	return st, nil
}
