// sg::execute on something that is not a shard says why.
// expect: sg::execute: S is not a shard for Req
#include <sg/sg.hpp>
struct not_a_shard {};
int main() {
  not_a_shard s;
  sg::execute(s, 1);
}
