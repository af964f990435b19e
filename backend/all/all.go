// Package all registers every backend adapter of this module, for programs
// (such as the record CLI) that accept any DSN:
//
//	import _ "github.com/recordlab/go-record/backend/all"
//
// Programs that use one backend should import only its adapter, so that
// they do not compile the other drivers.
package all

import (
	_ "github.com/recordlab/go-record/backend/memory"   // mem://
	_ "github.com/recordlab/go-record/backend/mongo"    // mongodb://, mongodb+srv://
	_ "github.com/recordlab/go-record/backend/postgres" // postgres://, postgresql://
	_ "github.com/recordlab/go-record/backend/sqlite"   // sqlite://
)
