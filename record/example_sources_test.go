package record_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/recordlab/go-record/record"
)

// INIFile reads a config file as Python's configparser does: [DEFAULT]
// keys are inherited, %(name)s is interpolated, keys are lower-cased;
// then values are typed and dotted keys nested.
func ExampleINIFile() {
	dir, err := os.MkdirTemp("", "ini")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.ini")
	text := `[DEFAULT]
root = /data
seed = 1

[train]
LR = 0.001
data = %(root)s/mnist
shuffle = yes
opt.momentum = 0.9
note = 100%% "quoted"
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		panic(err)
	}
	fields, err := record.INIFile(path).Load()
	if err != nil {
		panic(err)
	}
	fmt.Println(fields)
	// Output:
	// map[config:map[train:map[data:/data/mnist lr:0.001 note:100% "quoted" opt:map[momentum:0.9] root:/data seed:1 shuffle:true]]]
}
