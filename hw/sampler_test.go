package hw_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/recordlab/go-record/hw"
)

func TestSampler(t *testing.T) {
	s := hw.NewSampler(t.Context())
	defer s.Close()
	time.Sleep(50 * time.Millisecond)
	for i := range 2 {
		m, err := s.Sample(t.Context())
		if err != nil {
			t.Logf("sample %d partial: %v", i+1, err)
		}
		for _, name := range []string{hw.MetricCPUPercent, hw.MetricMemoryUsed, hw.MetricMemoryPercent} {
			if _, ok := m[name]; !ok {
				t.Errorf("sample %d lacks %s: %v", i+1, name, m)
			}
		}
		for name, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Errorf("sample %d: %s = %v", i+1, name, v)
			}
			if strings.HasSuffix(name, "percent") && v > 100 {
				t.Errorf("sample %d: %s = %v > 100", i+1, name, v)
			}
		}
		if v := m[hw.MetricMemoryUsed]; v < 1<<20 {
			t.Errorf("sample %d: memory.used = %v bytes", i+1, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSamplerCancelledAndClosed(t *testing.T) {
	s := hw.NewSampler(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Sample(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sample(cancelled) error = %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Sample(t.Context()); err == nil {
		t.Error("Sample after Close succeeded")
	}
}

func TestCPUBusy(t *testing.T) {
	t0 := cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5}
	tests := []struct {
		name   string
		t1     cpu.TimesStat
		want   float64
		wantOK bool
	}{
		{"half busy", cpu.TimesStat{User: 15, System: 10, Idle: 85, Iowait: 10}, 50, true},
		{"idle", cpu.TimesStat{User: 10, System: 5, Idle: 90, Iowait: 5}, 0, true},
		{"guest time is inside user time", cpu.TimesStat{User: 20, System: 5, Idle: 80, Iowait: 5, Guest: 10}, 100, true},
		{"no time passed", t0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := hw.CPUBusy(t0, tt.t1)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("CPUBusy = %v, %v, want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
