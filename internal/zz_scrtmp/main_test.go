package scr
import ("testing";"time";"github.com/runlet/runlet/castlog")
func TestX(t *testing.T){
 t0:=time.Now()
 _, s, _, err := castlog.GenerateKey("a long passphrase here")
 t.Log("seal", time.Since(t0), err)
 t0=time.Now()
 _, err = castlog.Unseal(s, "a long passphrase here")
 t.Log("unseal", time.Since(t0), err)
}
