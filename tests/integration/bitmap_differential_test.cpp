// Differential test of the string-range and bitmap commands (GETRANGE, SUBSTR, SETBIT,
// GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, LCS): one apiaryd and one
// redis-server 7.0, both started here on ports picked at run time, get the same command lines
// (RESP2, then RESP3 after HELLO 3) and must answer byte for byte alike -- the examples of
// Redis's documentation, negative and out-of-range ranges, BYTE vs BIT, offsets at
// proto-max-bulk-len, empty and missing keys, WRONGTYPE, BITPOS for 0 in all-ones strings
// with and without an end, every BITFIELD overflow mode at several widths, LCS IDX output, and
// every error in the order Redis checks its arguments. The same lines then go through members
// of a three-node cluster; the multi-key lines (BITOP, LCS) name keys with one hash tag ({b}),
// so one coordinator runs them whole, and keys of different coordinators get CROSSSLOT.
//
// One line differs by design: LCS refuses a table larger than proto-max-bulk-len bytes with
// Redis's out-of-memory error (lcs_commands.cpp), where redis-server allocates it.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "integration/support/bitfield_random_lines.hpp"
#include "integration/support/cluster.hpp"
#include "integration/support/differential.hpp"

using namespace apiary::test;

namespace {

// Bytes that words() passes through untouched (no space, quote or NUL).
#define ONES "\xff\xff\xff"

std::vector<DiffLine> range_lines() {
  return {
      {"SET s \"This is a string\""},
      {"GETRANGE s 0 3"},
      {"GETRANGE s -3 -1"},
      {"GETRANGE s 0 -1"},
      {"GETRANGE s 10 100"},
      {"GETRANGE s 5 3"},
      {"GETRANGE s -1 -5"},
      {"GETRANGE s -5 -1"},
      {"GETRANGE s -100 -50"},
      {"GETRANGE s -100 2"},
      {"GETRANGE s 100 200"},
      {"GETRANGE s 0 0"},
      {"GETRANGE s -1 -1"},
      {"GETRANGE s 15 15"},
      {"GETRANGE s 16 16"},
      {"GETRANGE s 3 -100"},
      {"GETRANGE s 9223372036854775807 1"},
      {"GETRANGE s -9223372036854775808 -1"},
      {"GETRANGE s 0 9223372036854775807"},
      {"GETRANGE s x 1"},
      {"GETRANGE s 1 x"},
      {"GETRANGE s 1.5 3"},
      {"GETRANGE s 99999999999999999999 1"},
      {"GETRANGE s 1"},
      {"GETRANGE s 1 2 3"},
      {"GETRANGE missing 0 -1"},
      {"GETRANGE missing 5 10"},
      {"GETRANGE missing x 1"},
      {"SET empty ''"},
      {"GETRANGE empty 0 -1"},
      {"GETRANGE empty -1 0"},
      {"GETRANGE empty 0 0"},
      {"SET num 12345"},
      {"GETRANGE num 1 2"},
      {"GETRANGE num -2 -1"},
      {"INCR counter"},
      {"INCRBY counter 41"},
      {"GETRANGE counter 0 -1"},
      {"SUBSTR s 0 3"},
      {"SUBSTR s -3 -1"},
      {"SUBSTR s 5 3"},
      {"SUBSTR s -1 -5"},
      {"SUBSTR s 100 200"},
      {"SUBSTR s x 1"},
      {"SUBSTR missing 0 -1"},
      {"SUBSTR s 1"},
      {"substr s 0 1"},
      {"RPUSH l a"},
      {"SADD set m"},
      {"HSET h f v"},
      {"ZADD z 1 m"},
      {"GETRANGE l 0 -1"},
      {"GETRANGE h 0 -1"},
      {"SUBSTR z 0 -1"},
      {"SUBSTR set x 1"},
  };
}

std::vector<DiffLine> setbit_lines() {
  return {
      {"SETBIT b 7 1"},
      {"GET b"},
      {"SETBIT b 7 0"},
      {"SETBIT b 7 0"},
      {"GET b"},
      {"SETBIT b 100 1"},
      {"STRLEN b"},
      {"GETBIT b 100"},
      {"GETBIT b 101"},
      {"GETBIT b 99"},
      {"GETBIT b 1000000"},
      {"GETBIT b 4294967295"},
      {"GETBIT b 4294967296"},
      {"GETBIT missing 0"},
      {"GETBIT missing 4294967295"},
      {"GETBIT missing 4294967296"},
      {"GETBIT missing x"},
      {"GETBIT b -1"},
      {"GETBIT b x"},
      {"GETBIT b #1"},
      {"GETBIT b"},
      {"GETBIT b 1 2"},
      {"SETBIT b -1 1"},
      {"SETBIT b x 1"},
      {"SETBIT b 1.5 1"},
      {"SETBIT b +1 1"},
      {"SETBIT b #1 1"},
      {"SETBIT b 4294967296 1"},
      {"SETBIT b 9223372036854775807 1"},
      {"SETBIT b 99999999999999999999 1"},
      {"SETBIT b 1 2"},
      {"SETBIT b 1 -1"},
      {"SETBIT b 1 x"},
      {"SETBIT b 1 01"},
      {"SETBIT b 1 ''"},
      {"SETBIT b 4294967296 2"},
      {"SETBIT b 4294967295 x"},
      {"SETBIT b 1"},
      {"SETBIT b 1 1 1"},
      {"GET b"},
      {"SETBIT new 0 0"},
      {"EXISTS new"},
      {"GET new"},
      {"SETBIT new 23 0"},
      {"GET new"},
      {"SETBIT new 3 1"},
      {"SETBIT new 3 1"},
      {"GET new"},
      {"SET t abc EX 100"},
      {"SETBIT t 0 1"},
      {"TTL t"},
      {"GET t"},
      {"SET num 12345"},
      {"SETBIT num 5 0"},
      {"GET num"},
      {"INCR counter"},
      {"SETBIT counter 6 0"},
      {"GET counter"},
      {"TYPE counter"},
      {"SET e ''"},
      {"GETBIT e 0"},
      {"SETBIT e 0 0"},
      {"GET e"},
      {"RPUSH l a"},
      {"SADD set m"},
      {"SETBIT l 0 1"},
      {"SETBIT set 0 1"},
      {"GETBIT l 0"},
      {"SETBIT l x 1"},
      {"SETBIT l 0 2"},
      {"GETBIT l x"},
      {"TYPE l"},
      {"OBJECT ENCODING b", "$6\r\nembstr\r\n", nullptr,
       "OBJECT ENCODING is derived from the value (embstr up to 44 bytes); Redis says raw for "
       "a string written in place, as after APPEND or SETRANGE"},
      {"TYPE b"},
  };
}

std::vector<DiffLine> bitcount_lines() {
  return {
      {"SET mykey foobar"},
      {"BITCOUNT mykey"},
      {"BITCOUNT mykey 0 0"},
      {"BITCOUNT mykey 1 1"},
      {"BITCOUNT mykey 1 1 BYTE"},
      {"BITCOUNT mykey 5 30 BIT"},
      {"BITCOUNT mykey 0 -1 bit"},
      {"BITCOUNT mykey 0 -1 byte"},
      {"BITCOUNT mykey 0 -1 BiT"},
      {"BITCOUNT mykey -1 -1"},
      {"BITCOUNT mykey -2 -1 bit"},
      {"BITCOUNT mykey -9 -2 bit"},
      {"BITCOUNT mykey 7 7 bit"},
      {"BITCOUNT mykey 8 15 bit"},
      {"BITCOUNT mykey 9 9 bit"},
      {"BITCOUNT mykey 3 12 bit"},
      {"BITCOUNT mykey 47 47 bit"},
      {"BITCOUNT mykey 47 100 bit"},
      {"BITCOUNT mykey 48 100 bit"},
      {"BITCOUNT mykey -100 100"},
      {"BITCOUNT mykey 100 200"},
      {"BITCOUNT mykey 3 1"},
      {"BITCOUNT mykey 3 1 bit"},
      {"BITCOUNT mykey -1 -3"},
      {"BITCOUNT mykey -1 -3 bit"},
      {"BITCOUNT mykey -1 -3 foo"},
      {"BITCOUNT mykey 0 -1 foo"},
      {"BITCOUNT mykey 0 9223372036854775807 bit"},
      {"BITCOUNT mykey -9223372036854775808 -1 bit"},
      {"BITCOUNT mykey -9223372036854775808 9223372036854775807"},
      {"BITCOUNT mykey 0 x"},
      {"BITCOUNT mykey x 0"},
      {"BITCOUNT mykey x 0 foo"},
      {"BITCOUNT mykey 0"},
      {"BITCOUNT mykey 0 1 bit extra"},
      {"BITCOUNT missing"},
      {"BITCOUNT missing 0 -1"},
      {"BITCOUNT missing 0 x"},
      {"BITCOUNT missing x"},
      {"BITCOUNT missing 0 1 2 3"},
      {"SET e ''"},
      {"BITCOUNT e"},
      {"BITCOUNT e 0 -1"},
      {"BITCOUNT e 0 -1 bit"},
      {"BITCOUNT e 0"},
      {"SET ones " ONES},
      {"BITCOUNT ones"},
      {"BITCOUNT ones 1 22 bit"},
      {"SET num 12345"},
      {"BITCOUNT num"},
      {"BITCOUNT num 1 2"},
      {"RPUSH l a"},
      {"BITCOUNT l"},
      {"BITCOUNT l x"},
      {"BITCOUNT l 0 1 foo"},
      {"BITCOUNT"},
  };
}

std::vector<DiffLine> bitpos_lines() {
  static const std::string set_ones40 = "SET ones40 " + std::string(40, '\xff');
  return {
      // Strings long enough to be read eight bytes at a time.
      {set_ones40.c_str()},
      {"BITPOS ones40 0"},
      {"BITPOS ones40 0 3 317 bit"},
      {"BITPOS ones40 0 3 bit"},
      {"BITPOS ones40 0 1 38"},
      {"BITPOS ones40 1 77 bit"},
      {"BITCOUNT ones40"},
      {"BITCOUNT ones40 3 317 bit"},
      {"BITCOUNT ones40 1 38"},
      {"BITCOUNT ones40 -300 -2 bit"},
      {"SETBIT zeros40 319 1"},
      {"SETBIT zeros40 70 1"},
      {"BITPOS zeros40 1"},
      {"BITPOS zeros40 1 71 bit"},
      {"BITPOS zeros40 1 71 318 bit"},
      {"BITPOS zeros40 1 9 318 bit"},
      {"BITPOS zeros40 1 9"},
      {"BITPOS zeros40 0 64 bit"},
      {"BITPOS zeros40 0 8"},
      {"BITCOUNT zeros40"},
      {"BITCOUNT zeros40 0 70 bit"},
      {"BITCOUNT zeros40 71 318 bit"},
      // The examples of Redis's documentation.
      {"SET mykey \xff\xf0"},
      {"SETBIT mykey 16 0"},
      {"BITPOS mykey 0"},
      {"SET mykey \xff"},
      {"SETRANGE mykey 1 \xff\xf0"},
      {"GET mykey"},
      {"BITPOS mykey 0"},
      {"SET d \x80\xff\xf0"},
      {"BITPOS d 1 0"},
      {"BITPOS d 1 2"},
      {"BITPOS d 1 2 -1 BYTE"},
      {"BITPOS d 1 7 15 BIT"},
      {"BITPOS d 0 0"},
      {"BITPOS d 0 1"},
      {"BITPOS d 0 1 1"},
      {"BITPOS d 0 1 1 bit"},
      {"BITPOS d 0 8 15 bit"},
      {"BITPOS d 0 8 20 bit"},
      {"BITPOS d 0 -4 -1 bit"},
      {"BITPOS d 1 -4 -1 bit"},
      {"BITPOS d 1 -1"},
      {"BITPOS d 1 -1 -1"},
      // All ones: looking for 0 without an end runs past the string.
      {"SET ones " ONES},
      {"BITPOS ones 0"},
      {"BITPOS ones 0 0"},
      {"BITPOS ones 0 1"},
      {"BITPOS ones 0 -1"},
      {"BITPOS ones 0 2"},
      {"BITPOS ones 0 3"},
      {"BITPOS ones 0 100"},
      {"BITPOS ones 0 0 -1"},
      {"BITPOS ones 0 0 2"},
      {"BITPOS ones 0 0 100"},
      {"BITPOS ones 0 0 0"},
      {"BITPOS ones 0 0 23 bit"},
      {"BITPOS ones 0 0 -1 bit"},
      {"BITPOS ones 0 5 9 bit"},
      {"BITPOS ones 0 0 -1 byte"},
      {"BITPOS ones 1"},
      {"BITPOS ones 1 10 -1 bit"},
      {"BITPOS ones 1 -1 -1 bit"},
      {"BITPOS ones 1 -3 -2"},
      {"BITPOS ones 1 2 1"},
      {"BITPOS ones 0 2 1"},
      {"BITPOS ones 1 100"},
      {"BITPOS ones 0 -100"},
      // All zeros.
      {"SETBIT zeros 23 0"},
      {"BITPOS zeros 1"},
      {"BITPOS zeros 0"},
      {"BITPOS zeros 1 7 -3 BIT"},
      {"BITPOS zeros 0 7 -3 BIT"},
      {"BITPOS zeros 1 1"},
      {"BITPOS zeros 0 5"},
      // Partial bytes at both ends of a BIT range.
      {"SET p \xf0\x0f"},
      {"BITPOS p 0 2 5 bit"},
      {"BITPOS p 1 4 11 bit"},
      {"BITPOS p 1 4 12 bit"},
      {"BITPOS p 0 0 3 bit"},
      {"BITPOS p 0 12 15 bit"},
      {"BITPOS p 0 12 -1 bit"},
      {"BITPOS p 1 3 3 bit"},
      {"BITPOS p 1 4 4 bit"},
      {"BITPOS p 0 4 4 bit"},
      {"BITPOS p 0 3 3 bit"},
      {"BITPOS p 0 9 10 bit"},
      {"BITPOS p 1 9 10 bit"},
      {"BITPOS p 1 12"},
      {"BITPOS p 0 1"},
      {"BITPOS p 0 1 -1"},
      // Missing, empty and integer-encoded strings.
      {"BITPOS missing 0"},
      {"BITPOS missing 1"},
      {"BITPOS missing 0 5 10"},
      {"BITPOS missing 1 x"},
      {"BITPOS missing 0 x y z w"},
      {"SET e ''"},
      {"BITPOS e 0"},
      {"BITPOS e 1"},
      {"BITPOS e 0 0"},
      {"BITPOS e 0 0 -1 bit"},
      {"SET num 12345"},
      {"BITPOS num 0"},
      {"BITPOS num 1 1"},
      // Errors, in Redis's order.
      {"BITPOS d 2"},
      {"BITPOS d -1"},
      {"BITPOS d x"},
      {"BITPOS d 1 x"},
      {"BITPOS d 1 0 x"},
      {"BITPOS d 1 0 x bit"},
      {"BITPOS d 1 0 x foo"},
      {"BITPOS d 1 0 1 foo"},
      {"BITPOS d 1 x 1 foo"},
      {"BITPOS d 1 0 1 bit extra"},
      {"BITPOS d 1 0 9223372036854775807 bit"},
      {"BITPOS d 0 -9223372036854775808 9223372036854775807 bit"},
      {"BITPOS d"},
      {"RPUSH l a"},
      {"BITPOS l 1"},
      {"BITPOS l 2"},
      {"BITPOS l 1 x"},
  };
}

std::vector<DiffLine> bitop_lines() {
  return {
      {"SET {b}1 foobar"},
      {"SET {b}2 abcdef"},
      {"SET {b}3 ab"},
      {"BITOP AND {b}d {b}1 {b}2"},
      {"GET {b}d"},
      {"BITOP OR {b}d {b}1 {b}2"},
      {"GET {b}d"},
      {"BITOP XOR {b}d {b}1 {b}2"},
      {"GET {b}d"},
      {"BITOP NOT {b}d {b}1"},
      {"GET {b}d"},
      {"BITOP and {b}d {b}1 {b}3"},
      {"GET {b}d"},
      {"BITOP or {b}d {b}3 {b}1"},
      {"GET {b}d"},
      {"BITOP xor {b}d {b}1 {b}2 {b}3"},
      {"GET {b}d"},
      {"BITOP Not {b}d {b}3"},
      {"GET {b}d"},
      {"BITOP AND {b}d {b}1 {b}missing"},
      {"GET {b}d"},
      {"BITOP OR {b}d {b}missing {b}1"},
      {"GET {b}d"},
      {"BITOP AND {b}d {b}1"},
      {"GET {b}d"},
      {"BITOP AND {b}d {b}missing {b}missing2"},
      {"EXISTS {b}d"},
      {"BITOP NOT {b}d {b}1"},
      {"BITOP NOT {b}d {b}missing"},
      {"EXISTS {b}d"},
      {"SET {b}e ''"},
      {"BITOP OR {b}d {b}e"},
      {"EXISTS {b}d"},
      {"SET {b}d x"},
      {"BITOP OR {b}d {b}e {b}missing"},
      {"EXISTS {b}d"},
      {"SET {b}n 12345"},
      {"BITOP OR {b}d {b}n {b}1"},
      {"GET {b}d"},
      // The destination: any type is replaced, a TTL is cleared, a source may be it.
      {"RPUSH {b}l x"},
      {"BITOP OR {b}l {b}1"},
      {"TYPE {b}l"},
      {"GET {b}l"},
      {"SET {b}t x EX 100"},
      {"BITOP OR {b}t {b}1"},
      {"TTL {b}t"},
      {"BITOP NOT {b}1 {b}1"},
      {"GET {b}1"},
      {"BITOP XOR {b}2 {b}2 {b}2"},
      {"GET {b}2"},
      // Errors, in Redis's order.
      {"RPUSH {b}list x"},
      {"BITOP AND {b}d {b}1 {b}list"},
      {"BITOP AND {b}d {b}list {b}missing"},
      {"BITOP NOT {b}d {b}list"},
      {"BITOP NOT {b}d {b}1 {b}2"},
      {"BITOP NOT {b}d {b}list {b}1"},
      {"BITOP NAND {b}d {b}1 {b}2"},
      {"BITOP foo {b}d {b}list"},
      {"BITOP '' {b}d {b}1"},
      {"BITOP NOT {b}d"},
      {"BITOP AND {b}d"},
      {"BITOP AND"},
      {"GET {b}d"},
  };
}

std::vector<DiffLine> bitfield_lines() {
  return {
      // The examples of Redis's documentation.
      {"BITFIELD mykey INCRBY i5 100 1 GET u4 0"},
      {"BITFIELD mystring SET i8 #0 100 SET i8 #1 200"},
      {"GET mystring"},
      {"BITFIELD mykey incrby u2 100 1 OVERFLOW SAT incrby u2 102 1"},
      {"BITFIELD mykey incrby u2 100 1 OVERFLOW SAT incrby u2 102 1"},
      {"BITFIELD mykey incrby u2 100 1 OVERFLOW SAT incrby u2 102 1"},
      {"BITFIELD mykey incrby u2 100 1 OVERFLOW SAT incrby u2 102 1"},
      {"BITFIELD mykey OVERFLOW FAIL incrby u2 102 1"},
      {"GET mykey"},
      // Reads: missing keys, past the end, unaligned, every width class.
      {"BITFIELD missing GET i8 0 GET u63 1000 GET i64 #3"},
      {"EXISTS missing"},
      {"SET s foobar"},
      {"BITFIELD s GET u8 0 GET i8 0 GET u4 4 GET i4 4 GET u1 0 GET i1 1"},
      {"BITFIELD s GET i64 0 GET u63 0 GET i64 3 GET u63 5 GET i16 40 GET u16 44"},
      {"BITFIELD s GET u8 #0 GET u8 #5 GET u8 #6 GET i16 #2 GET i7 #3"},
      {"BITFIELD s GET u8 4294967295 GET u8 #536870911"},
      {"BITFIELD s"},
      {"BITFIELD s OVERFLOW SAT"},
      {"BITFIELD s get u8 0 Get i8 8 gEt u8 16"},
      {"BITFIELD_RO s GET u8 0 GET i64 #1"},
      {"BITFIELD_RO s OVERFLOW FAIL GET u8 0"},
      {"BITFIELD_RO missing GET i8 0"},
      {"BITFIELD_RO s"},
      {"SET num 12345"},
      {"BITFIELD num GET u8 0 GET i16 #1"},
      // Writes: SET answers the old value, INCRBY the new one; OVERFLOW applies to what
      // follows it.
      {"BITFIELD w SET i8 0 100 INCRBY i8 0 100 OVERFLOW SAT INCRBY i8 0 100 OVERFLOW FAIL "
       "INCRBY i8 0 100 GET u4 0"},
      {"BITFIELD w SET i8 0 127 INCRBY i8 0 1 GET i8 0"},
      {"BITFIELD w OVERFLOW SAT INCRBY i8 0 -200 INCRBY i8 0 -1 INCRBY i8 0 1000"},
      {"BITFIELD w OVERFLOW FAIL INCRBY i8 0 1 INCRBY i8 0 -1000 SET i8 0 -129 SET i8 0 -128"},
      {"BITFIELD w OVERFLOW WRAP SET i8 0 200 SET i8 0 -200 SET i8 0 1000 GET i8 0"},
      {"BITFIELD w OVERFLOW SAT SET i8 0 200 SET i8 0 -200 SET i8 0 1000 GET i8 0"},
      {"BITFIELD w SET u8 8 -1 OVERFLOW SAT SET u8 8 -1 SET u8 8 300 OVERFLOW FAIL SET u8 8 256"},
      {"BITFIELD w SET u8 8 10 INCRBY u8 8 -11 OVERFLOW SAT INCRBY u8 8 -11 INCRBY u8 8 300"},
      {"BITFIELD w OVERFLOW FAIL INCRBY u8 8 -1 INCRBY u8 8 255 INCRBY u8 8 256"},
      {"BITFIELD w SET i1 16 1 SET i1 16 -1 INCRBY i1 16 1 OVERFLOW SAT INCRBY i1 16 1 GET i1 16"},
      {"BITFIELD w SET u1 17 1 INCRBY u1 17 1 OVERFLOW SAT INCRBY u1 17 5 OVERFLOW FAIL INCRBY "
       "u1 17 1"},
      {"BITFIELD w SET i64 #1 -9223372036854775808 INCRBY i64 #1 -1 GET i64 #1"},
      {"BITFIELD w OVERFLOW SAT SET i64 #1 -9223372036854775808 INCRBY i64 #1 -1 INCRBY i64 #1 "
       "9223372036854775807 INCRBY i64 #1 9223372036854775807 INCRBY i64 #1 1"},
      {"BITFIELD w OVERFLOW FAIL INCRBY i64 #1 1 INCRBY i64 #1 -9223372036854775808 INCRBY i64 "
       "#1 -9223372036854775808"},
      {"BITFIELD w SET u63 3 9223372036854775807 INCRBY u63 3 1 OVERFLOW SAT INCRBY u63 3 -1 "
       "INCRBY u63 3 -9223372036854775808 SET u63 3 -1"},
      {"BITFIELD w OVERFLOW FAIL SET u63 3 -1 INCRBY u63 3 9223372036854775807 INCRBY u63 3 1"},
      {"BITFIELD w SET u5 3 31 INCRBY u5 3 1 SET i5 7 15 INCRBY i5 7 1 INCRBY i5 7 -1"},
      {"BITFIELD w SET i32 #3 -2147483648 INCRBY i32 #3 -2147483648 OVERFLOW SAT INCRBY i32 #3 "
       "-2147483648"},
      {"GET w"},
      {"STRLEN w"},
      // A write creates the key and grows the string to its farthest bit, even when OVERFLOW
      // FAIL refuses every write; the TTL stays.
      {"BITFIELD created OVERFLOW FAIL SET u2 0 5"},
      {"EXISTS created"},
      {"GET created"},
      {"BITFIELD created SET u8 #10 1 GET u8 #10"},
      {"STRLEN created"},
      {"BITFIELD created2 GET u8 0 SET u4 100 1"},
      {"GET created2"},
      {"SET bft x EX 100"},
      {"BITFIELD bft SET u8 0 65 INCRBY u8 0 1"},
      {"TTL bft"},
      {"GET bft"},
      {"BITFIELD bft SET u8 0 66"},
      {"GET bft"},
      {"INCR counter"},
      {"BITFIELD counter INCRBY u8 0 1"},
      {"GET counter"},
      // Errors, in Redis's order: every subcommand is read before the key.
      {"BITFIELD s GET"},
      {"BITFIELD s GET u8"},
      {"BITFIELD s SET u8 0"},
      {"BITFIELD s INCRBY u8 0"},
      {"BITFIELD s FOO u8 0"},
      {"BITFIELD s OVERFLOW"},
      {"BITFIELD s OVERFLOW foo"},
      {"BITFIELD s OVERFLOW foo GET x 0"},
      {"BITFIELD s GET x8 0"},
      {"BITFIELD s GET U8 0"},
      {"BITFIELD s GET I8 0"},
      {"BITFIELD s GET u64 0"},
      {"BITFIELD s GET i65 0"},
      {"BITFIELD s GET i0 0"},
      {"BITFIELD s GET u0 0"},
      {"BITFIELD s GET u-1 0"},
      {"BITFIELD s GET u 0"},
      {"BITFIELD s GET '' 0"},
      {"BITFIELD s GET u08 0"},
      {"BITFIELD s GET u8 -1"},
      {"BITFIELD s GET u8 x"},
      {"BITFIELD s GET u8 #x"},
      {"BITFIELD s GET u8 #"},
      {"BITFIELD s GET u8 #-1"},
      {"BITFIELD s GET u8 ##1"},
      {"BITFIELD s GET u8 4294967296"},
      {"BITFIELD s GET u8 #536870912"},
      {"BITFIELD s GET i64 #67108864"},
      {"BITFIELD s GET i64 #9223372036854775807"},
      {"BITFIELD s GET u8 #2305843009213693952"},
      {"BITFIELD s SET u8 0 x"},
      {"BITFIELD s SET u8 0 1.5"},
      {"BITFIELD s SET i64 0 9223372036854775808"},
      {"BITFIELD s INCRBY u8 0 x"},
      {"BITFIELD s GET u8 0 SET u8 0 1 GET x 0"},
      {"BITFIELD s SET u8 0 1 GET u8 0 FOO"},
      {"GET s"},
      {"BITFIELD_RO s SET u8 0 1"},
      {"BITFIELD_RO s INCRBY u8 0 1"},
      {"BITFIELD_RO s GET u8 0 SET u8 0 1 GET u8 0"},
      {"BITFIELD_RO s SET u8 0 x"},
      {"BITFIELD_RO s OVERFLOW foo"},
      {"BITFIELD_RO s GET x 0"},
      {"BITFIELD_RO missing SET u8 0 1"},
      {"EXISTS missing"},
      {"RPUSH l a"},
      {"BITFIELD l GET u8 0"},
      {"BITFIELD l SET u8 0 1"},
      {"BITFIELD l"},
      {"BITFIELD l GET x 0"},
      {"BITFIELD l SET u8 0 x"},
      {"BITFIELD_RO l GET u8 0"},
      {"BITFIELD_RO l SET u8 0 1"},
      {"BITFIELD_RO l"},
      {"BITFIELD"},
      {"BITFIELD_RO"},
  };
}

std::vector<DiffLine> lcs_lines() {
  return {
      // The examples of Redis's documentation.
      {"MSET {b}k1 ohmytext {b}k2 mynewtext"},
      {"LCS {b}k1 {b}k2"},
      {"LCS {b}k1 {b}k2 LEN"},
      {"LCS {b}k1 {b}k2 IDX"},
      {"LCS {b}k1 {b}k2 IDX MINMATCHLEN 4"},
      {"LCS {b}k1 {b}k2 IDX MINMATCHLEN 4 WITHMATCHLEN"},
      {"LCS {b}k1 {b}k2 IDX WITHMATCHLEN"},
      {"LCS {b}k1 {b}k2 idx withmatchlen minmatchlen 2"},
      {"LCS {b}k1 {b}k2 LEN MINMATCHLEN 4"},
      {"LCS {b}k1 {b}k2 LEN WITHMATCHLEN"},
      {"LCS {b}k1 {b}k2 MINMATCHLEN 4"},
      {"LCS {b}k1 {b}k2 WITHMATCHLEN"},
      {"LCS {b}k1 {b}k2 IDX IDX LEN"},
      {"LCS {b}k1 {b}k2 LEN LEN"},
      {"LCS {b}k1 {b}k2 IDX MINMATCHLEN -5"},
      {"LCS {b}k1 {b}k2 IDX MINMATCHLEN 0"},
      {"LCS {b}k1 {b}k2 IDX MINMATCHLEN 100"},
      {"LCS {b}k2 {b}k1"},
      {"LCS {b}k2 {b}k1 IDX WITHMATCHLEN"},
      {"LCS {b}k1 {b}k1 IDX WITHMATCHLEN"},
      // Several longest subsequences: Redis's walk back picks one; so must we.
      {"MSET {b}a ABCBDAB {b}c BDCABA"},
      {"LCS {b}a {b}c"},
      {"LCS {b}a {b}c IDX WITHMATCHLEN"},
      {"LCS {b}c {b}a IDX"},
      {"MSET {b}x GXTXAYBGXTXAYB {b}y AGGTABAGGTAB"},
      {"LCS {b}x {b}y"},
      {"LCS {b}x {b}y IDX WITHMATCHLEN"},
      {"MSET {b}p aaaa {b}q aa"},
      {"LCS {b}p {b}q IDX WITHMATCHLEN"},
      {"MSET {b}r abcXXdefYYghi {b}t abcZdefZZZghi"},
      {"LCS {b}r {b}t IDX WITHMATCHLEN"},
      {"LCS {b}r {b}t IDX MINMATCHLEN 3"},
      {"MSET {b}n1 1234567 {b}n2 2468"},
      {"LCS {b}n1 {b}n2"},
      {"LCS {b}n1 {b}n2 IDX"},
      // Missing and empty strings.
      {"LCS {b}k1 {b}none"},
      {"LCS {b}none {b}k1 LEN"},
      {"LCS {b}none {b}none2 IDX"},
      {"LCS {b}none {b}none2 IDX WITHMATCHLEN"},
      {"SET {b}e ''"},
      {"LCS {b}e {b}k1 IDX"},
      {"MSET {b}u abc {b}v xyz"},
      {"LCS {b}u {b}v"},
      {"LCS {b}u {b}v IDX"},
      // Errors, in Redis's order: the keys' types first, then the options.
      {"RPUSH {b}l a"},
      {"LCS {b}l {b}k1"},
      {"LCS {b}k1 {b}l"},
      {"LCS {b}l {b}k1 LEN IDX"},
      {"LCS {b}l {b}k1 FOO"},
      {"LCS {b}k1 {b}k2 LEN IDX"},
      {"LCS {b}k1 {b}k2 IDX LEN"},
      {"LCS {b}k1 {b}k2 FOO"},
      {"LCS {b}k1 {b}k2 MINMATCHLEN"},
      {"LCS {b}k1 {b}k2 MINMATCHLEN x"},
      {"LCS {b}k1 {b}k2 MINMATCHLEN x LEN IDX"},
      {"LCS {b}k1 {b}k2 LEN IDX MINMATCHLEN x"},
      {"LCS {b}k1 {b}k2 MINMATCHLEN 99999999999999999999"},
      {"LCS {b}k1"},
      {"LCS"},
  };
}

// Two strings of about 200 bytes with many equal-length common subsequences.
std::vector<DiffLine> long_lcs_lines(std::vector<std::string>& owned) {
  owned.clear();
  std::string a, b;
  std::uint32_t x = 12345;
  for (int i = 0; i < 200; ++i) {
    x = x * 1103515245u + 12345u;
    a.push_back(static_cast<char>('a' + (x >> 16) % 4));
    x = x * 1103515245u + 12345u;
    b.push_back(static_cast<char>('a' + (x >> 16) % 4));
  }
  owned.push_back("MSET {b}la " + a + " {b}lb " + b);
  for (const char* q : {"LCS {b}la {b}lb", "LCS {b}la {b}lb LEN", "LCS {b}la {b}lb IDX",
                        "LCS {b}la {b}lb IDX MINMATCHLEN 3 WITHMATCHLEN", "LCS {b}lb {b}la IDX"}) {
    owned.emplace_back(q);
  }
  std::vector<DiffLine> out;
  for (const auto& s : owned) out.push_back(DiffLine{s.c_str()});
  return out;
}

std::vector<DiffLine> bound_lines() {
  static const std::string lcs_a =
      "MSET {b}big1 " + std::string(600, 'a') + " {b}big2 " + std::string(600, 'b');
  static const std::string lcs_b =
      "MSET {b}mid1 " + std::string(400, 'a') + " {b}mid2 " + std::string(400, 'a');
  return {
      {"SETBIT {b}big 8388607 1"},
      {"STRLEN {b}big"},
      {"SETBIT {b}big 8388608 1"},
      {"GETBIT {b}big 8388608"},
      {"GETBIT {b}big 8388607"},
      {"BITCOUNT {b}big"},
      {"BITPOS {b}big 1"},
      {"BITPOS {b}big 0 -1"},
      {"BITFIELD {b}big GET u8 8388600 GET u8 #1048575"},
      {"BITFIELD {b}big GET u8 8388608"},
      {"BITFIELD {b}big GET u8 #1048576"},
      {"BITFIELD {b}big SET i64 8388607 -1"},
      {"STRLEN {b}big"},
      {"BITFIELD {b}big2 SET u8 #1048575 255"},
      {"STRLEN {b}big2"},
      {"BITOP AND {b}and {b}big {b}big2"},
      {"BITCOUNT {b}and"},
      {"SETRANGE {b}big 1048576 x"},
      {"SETRANGE {b}big 1048575 x"},
      {lcs_b.c_str()},
      {"LCS {b}mid1 {b}mid2 LEN"},
      {lcs_a.c_str()},
      {"LCS {b}big1 {b}big2 LEN",
       "-ERR Insufficient memory, failed allocating transient memory for LCS\r\n", nullptr,
       "a 601 x 601 table of 4-byte cells is more than proto-max-bulk-len (1 MB) bytes"},
      {"LCS {b}big1 {b}big1 IDX",
       "-ERR Insufficient memory, failed allocating transient memory for LCS\r\n", nullptr,
       "as above"},
  };
}

std::vector<DiffLine> all_lines() {
  std::vector<DiffLine> out;
  for (auto part : {range_lines(), setbit_lines(), bitcount_lines(), bitpos_lines(), bitop_lines(),
                    bitfield_lines(), lcs_lines()}) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

void set_bulk_limit(const std::string& port, const char* limit) {
  RespClient c(port);
  REQUIRE(c.command({"CONFIG", "SET", "proto-max-bulk-len", limit}) == "+OK\r\n");
}


}  // namespace

TEST_CASE("string-range and bitmap commands answer as redis-server 7.0 does",
          "[integration][bitmap]") {
  RedisServer redis;
  Daemon apiary("bitmap", {});
  SECTION("command lines, RESP2 and RESP3") {
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, all_lines());
  }
  SECTION("a long LCS, RESP2 and RESP3") {
    std::vector<std::string> owned;
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, long_lcs_lines(owned));
  }
  SECTION("seeded random BITFIELD, BITCOUNT, BITPOS and GETRANGE lines, RESP2 and RESP3") {
    std::vector<std::string> owned;
    for (int protocol : {2, 3}) compare_exact(apiary, redis, protocol, random_lines(owned));
  }
  SECTION("offsets at proto-max-bulk-len") {
    for (int protocol : {2, 3}) {
      set_bulk_limit(apiary.redis_port(), "1mb");
      set_bulk_limit(redis.port(), "1mb");
      compare_exact(apiary, redis, protocol, bound_lines());
    }
  }
  SECTION("COMMAND INFO, RESP2") {
    RespClient a(apiary.redis_port());
    RespClient r(redis.port());
    for (const char* name : {"getrange", "substr", "setbit", "getbit", "bitcount", "bitpos",
                             "bitfield", "bitfield_ro", "bitop", "lcs"}) {
      INFO(name);
      CHECK(a.command({"COMMAND", "INFO", name}) == r.command({"COMMAND", "INFO", name}));
    }
  }
  RespClient after(apiary.redis_port());
  CHECK(after.command({"PING"}) == "+PONG\r\n");
  CHECK(apiary.running());
}

TEST_CASE("string-range and bitmap commands through cluster members answer as redis-server 7.0",
          "[integration][bitmap]") {
  auto nodes = start_cluster("bm", 3, {});
  RedisServer redis;
  compare_exact(*nodes[1], redis, 2, all_lines());
  compare_exact(*nodes[2], redis, 3, all_lines());
  std::vector<std::string> owned;
  compare_exact(*nodes[0], redis, 3, long_lcs_lines(owned));
  for (const auto& n : nodes) set_bulk_limit(n->redis_port(), "1mb");
  set_bulk_limit(redis.port(), "1mb");
  compare_exact(*nodes[0], redis, 2, bound_lines());
  for (const auto& n : nodes) set_bulk_limit(n->redis_port(), "512mb");

  // A BITOP whose keys have different coordinators is refused, as the other multi-key
  // writes are. LCS is a read: it runs wherever one node holds a copy of both keys (here every
  // member holds every partition) and is refused with CROSSSLOT otherwise, like SINTER.
  RespClient c(nodes[0]->redis_port());
  int bitop_crossslot = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string other = "other" + std::to_string(i);
    const std::string bitop = c.command({"BITOP", "OR", "dst", "src", other});
    const std::string lcs = c.command({"LCS", "src", other});
    INFO(bitop << lcs);
    CHECK((bitop.rfind("-CROSSSLOT", 0) == 0 || bitop == ":0\r\n"));
    CHECK((lcs.rfind("-CROSSSLOT", 0) == 0 || lcs == "$0\r\n\r\n"));
    bitop_crossslot += bitop.rfind("-CROSSSLOT", 0) == 0;
  }
  CHECK(bitop_crossslot > 0);
  for (const auto& n : nodes) CHECK(n->running());
}
