package dashboard

import (
	"fmt"
	"os"
)

// CheckContent loads a workshop's content folder as a session's dashboard would, so that a
// portal can refuse to start with content its sessions could never show. The error says
// what is wrong with the folder ("" is the embedded sample and always loads).
func CheckContent(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("the folder does not exist")
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("it is a file, not a folder")
	}
	fsys := os.DirFS(dir)
	if isHugoLayout(fsys) {
		// hugo runs in the sessions' dashboards, never here.
		if err := checkHugoContent(fsys, &hugoConfig{}); err != nil {
			return fmt.Errorf("its content does not load: %w (a workshop of the Hugo layout keeps its pages in %s/)", err, contentRoot)
		}
		return nil
	}
	if _, err := loadWorkshop(fsys); err != nil {
		return fmt.Errorf("its content does not load: %w (a workshop keeps its pages in %s/)", err, contentRoot)
	}
	return nil
}
