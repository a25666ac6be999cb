// sg/sg.hpp — everything in sg. Every header also compiles on its own; include the ones
// you use to keep compile times down.
#pragma once

#include <sg/agg/aggregate.hpp>
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/error.hpp>
#include <sg/exec/async.hpp>
#include <sg/exec/on.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/distinct.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/merge/loser_tree.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/partial.hpp>
#include <sg/partition/hash.hpp>
#include <sg/partition/jump.hpp>
#include <sg/partition/modulo.hpp>
#include <sg/partition/partitioner.hpp>
#include <sg/partition/range.hpp>
#include <sg/partition/rendezvous.hpp>
#include <sg/partition/ring.hpp>
#include <sg/partition/round_robin.hpp>
#include <sg/partition/split.hpp>
#include <sg/policy/policy.hpp>
#include <sg/route.hpp>
#include <sg/shard.hpp>
#include <sg/version.hpp>
#include <sg/views/merge_sorted.hpp>
