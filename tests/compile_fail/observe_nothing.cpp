// An observer must take at least one kind of event; this one takes none (a typo: `one`).
// expect: sg::observe: the observer has no on(e) for any sg::events type
#include <sg/sg.hpp>
struct my_log {
  void one(sg::events::attempt_end const&) {}
};
int main() {
  my_log l;
  sg::observe o{&l};
  (void)o;
}
