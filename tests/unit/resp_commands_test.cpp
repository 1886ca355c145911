// Data commands, table-driven: every expected reply below was recorded from redis-server
// 7.0.15 for the same command sequence (RESP2, then RESP3 after HELLO 3), so these tests pin
// byte-for-byte compatibility, edge cases included (negative and overflowing TTLs, INCR
// overflow, SET ... GET on a missing key, SETRANGE padding, GETRANGE with negative indices,
// EXPIRE NX/XX/GT/LT). Deliberate differences from a standalone Redis are marked: COPY ... DB
// answers as Redis Cluster does.
#include <catch2/catch.hpp>
#include <set>

#include "resp_test_support.hpp"

namespace {

using namespace std::string_view_literals;

struct Case {
  const char* command;
  std::string_view reply;  // may hold NUL bytes (SETRANGE padding)
};

const Case kRedis2[] = {
    {"SET k v", "+OK\r\n"sv},
    {"GET k", "$1\r\nv\r\n"sv},
    {"SET k v NX", "$-1\r\n"sv},
    {"SET k v2 XX", "+OK\r\n"sv},
    {"GET k", "$2\r\nv2\r\n"sv},
    {"SET k v3 GET", "$2\r\nv2\r\n"sv},
    {"SET missing v GET", "$-1\r\n"sv},
    {"SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v EX -1", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v EX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v NX XX", "-ERR syntax error\r\n"sv},
    {"SET k v EX 10 PX 10", "-ERR syntax error\r\n"sv},
    {"SET k v KEEPTTL EX 10", "-ERR syntax error\r\n"sv},
    {"SET k v EX", "-ERR syntax error\r\n"sv},
    {"SET k v EX abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET k v FOO", "-ERR syntax error\r\n"sv},
    {"SET ttlk v EX 100", "+OK\r\n"sv},
    {"TTL ttlk", ":100\r\n"sv},
    {"SET ttlk v2 KEEPTTL", "+OK\r\n"sv},
    {"TTL ttlk", ":100\r\n"sv},
    {"SET ttlk v3", "+OK\r\n"sv},
    {"TTL ttlk", ":-1\r\n"sv},
    {"SET nxg v NX GET", "$-1\r\n"sv},
    {"SET nxg v2 NX GET", "$1\r\nv\r\n"sv},
    {"SETNX k x", ":0\r\n"sv},
    {"SETNX newk x", ":1\r\n"sv},
    {"SETEX sk 0 v", "-ERR invalid expire time in 'setex' command\r\n"sv},
    {"SETEX sk -5 v", "-ERR invalid expire time in 'setex' command\r\n"sv},
    {"SETEX sk 100 v", "+OK\r\n"sv},
    {"TTL sk", ":100\r\n"sv},
    {"PSETEX psk 100000 v", "+OK\r\n"sv},
    {"PTTL nokey", ":-2\r\n"sv},
    {"TTL nokey", ":-2\r\n"sv},
    {"TTL k", ":-1\r\n"sv},
    {"GETSET k newv", "$2\r\nv3\r\n"sv},
    {"GETSET nogs v", "$-1\r\n"sv},
    {"GETDEL k", "$4\r\nnewv\r\n"sv},
    {"GETDEL k", "$-1\r\n"sv},
    {"GETEX sk PERSIST", "$1\r\nv\r\n"sv},
    {"TTL sk", ":-1\r\n"sv},
    {"GETEX sk EX 50", "$1\r\nv\r\n"sv},
    {"TTL sk", ":50\r\n"sv},
    {"GETEX sk EX 0", "-ERR invalid expire time in 'getex' command\r\n"sv},
    {"GETEX sk PX 10 EX 10", "-ERR syntax error\r\n"sv},
    {"GETEX nokey EX 10", "$-1\r\n"sv},
    {"MGET sk newk nokey", "*3\r\n$1\r\nv\r\n$1\r\nx\r\n$-1\r\n"sv},
    {"MSET a 1 b 2", "+OK\r\n"sv},
    {"MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"sv},
    {"MSETNX a 1 c 3", ":0\r\n"sv},
    {"MSETNX c 3 d 4", ":1\r\n"sv},
    {"APPEND ap hello", ":5\r\n"sv},
    {"APPEND ap \" world\"", ":11\r\n"sv},
    {"GET ap", "$11\r\nhello world\r\n"sv},
    {"STRLEN ap", ":11\r\n"sv},
    {"STRLEN nokey", ":0\r\n"sv},
    {"GETRANGE ap 0 4", "$5\r\nhello\r\n"sv},
    {"GETRANGE ap -5 -1", "$5\r\nworld\r\n"sv},
    {"GETRANGE ap -1 -5", "$0\r\n\r\n"sv},
    {"GETRANGE ap 5 1", "$0\r\n\r\n"sv},
    {"GETRANGE ap 0 100", "$11\r\nhello world\r\n"sv},
    {"GETRANGE ap -100 2", "$3\r\nhel\r\n"sv},
    {"GETRANGE nokey 0 -1", "$0\r\n\r\n"sv},
    {"GETRANGE ap a b", "-ERR value is not an integer or out of range\r\n"sv},
    {"SETRANGE sr 5 hi", ":7\r\n"sv},
    {"GET sr",
     "$7\r\n\x00"
     "\x00"
     "\x00"
     "\x00"
     "\x00"
     "hi\r\n"sv},
    {"SETRANGE sr 0 \"\"", ":7\r\n"sv},
    {"SETRANGE nokey2 0 \"\"", ":0\r\n"sv},
    {"EXISTS nokey2", ":0\r\n"sv},
    {"SETRANGE sr -1 x", "-ERR offset is out of range\r\n"sv},
    {"SETRANGE sr 536870911 xx",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"sv},
    {"SETRANGE sr 1 HELLOWORLD", ":11\r\n"sv},
    {"GET sr",
     "$11\r\n\x00"
     "HELLOWORLD\r\n"sv},
    {"INCR cnt", ":1\r\n"sv},
    {"INCRBY cnt 10", ":11\r\n"sv},
    {"DECR cnt", ":10\r\n"sv},
    {"DECRBY cnt 5", ":5\r\n"sv},
    {"DECRBY cnt -9223372036854775808", "-ERR decrement would overflow\r\n"sv},
    {"INCRBY cnt abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET big 9223372036854775807", "+OK\r\n"sv},
    {"INCR big", "-ERR increment or decrement would overflow\r\n"sv},
    {"SET small -9223372036854775808", "+OK\r\n"sv},
    {"DECR small", "-ERR increment or decrement would overflow\r\n"sv},
    {"SET notint abc", "+OK\r\n"sv},
    {"INCR notint", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET spaced \" 1\"", "+OK\r\n"sv},
    {"INCR spaced", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET lead 01", "+OK\r\n"sv},
    {"INCR lead", "-ERR value is not an integer or out of range\r\n"sv},
    {"INCRBYFLOAT f 1.5", "$3\r\n1.5\r\n"sv},
    {"INCRBYFLOAT f 0.1", "$3\r\n1.6\r\n"sv},
    {"INCRBYFLOAT f -1.6", "$1\r\n0\r\n"sv},
    {"INCRBYFLOAT f abc", "-ERR value is not a valid float\r\n"sv},
    {"INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity\r\n"sv},
    {"INCRBYFLOAT notint 1", "-ERR value is not a valid float\r\n"sv},
    {"SET fe 5.0e3", "+OK\r\n"sv},
    {"INCRBYFLOAT fe 1", "$4\r\n5001\r\n"sv},
    {"SET ff 10.50", "+OK\r\n"sv},
    {"INCRBYFLOAT ff 0", "$4\r\n10.5\r\n"sv},
    {"INCRBYFLOAT nf 3", "$1\r\n3\r\n"sv},
    {"INCRBYFLOAT nf2 1e2", "$3\r\n100\r\n"sv},
    {"DEL a b c nokey", ":3\r\n"sv},
    {"UNLINK d", ":1\r\n"sv},
    {"EXISTS sk sk nokey", ":2\r\n"sv},
    {"TYPE sr", "+string\r\n"sv},
    {"TYPE nokey", "+none\r\n"sv},
    {"TOUCH sr nokey", ":1\r\n"sv},
    {"SET e v", "+OK\r\n"sv},
    {"EXPIRE e 100", ":1\r\n"sv},
    {"TTL e", ":100\r\n"sv},
    {"EXPIRE e 100 NX", ":0\r\n"sv},
    {"EXPIRE e 200 XX", ":1\r\n"sv},
    {"TTL e", ":200\r\n"sv},
    {"EXPIRE e 50 GT", ":0\r\n"sv},
    {"EXPIRE e 500 GT", ":1\r\n"sv},
    {"TTL e", ":500\r\n"sv},
    {"EXPIRE e 600 LT", ":0\r\n"sv},
    {"EXPIRE e 10 LT", ":1\r\n"sv},
    {"TTL e", ":10\r\n"sv},
    {"EXPIRE e 10 NX XX",
     "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"sv},
    {"EXPIRE e 10 GT LT", "-ERR GT and LT options at the same time are not compatible\r\n"sv},
    {"EXPIRE e 10 FOO", "-ERR Unsupported option FOO\r\n"sv},
    {"EXPIRE e abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"EXPIRE e 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"sv},
    {"SET e2 v", "+OK\r\n"sv},
    {"EXPIRE e2 100 GT", ":0\r\n"sv},
    {"EXPIRE e2 100 LT", ":1\r\n"sv},
    {"TTL e2", ":100\r\n"sv},
    {"PERSIST e2", ":1\r\n"sv},
    {"PERSIST e2", ":0\r\n"sv},
    {"PERSIST nokey", ":0\r\n"sv},
    {"EXPIRE nokey 10", ":0\r\n"sv},
    {"EXPIRE e2 -1", ":1\r\n"sv},
    {"EXISTS e2", ":0\r\n"sv},
    {"SET e3 v", "+OK\r\n"sv},
    {"PEXPIRE e3 0", ":1\r\n"sv},
    {"EXISTS e3", ":0\r\n"sv},
    {"SET e4 v", "+OK\r\n"sv},
    {"EXPIREAT e4 1", ":1\r\n"sv},
    {"EXISTS e4", ":0\r\n"sv},
    {"EXPIRETIME nokey", ":-2\r\n"sv},
    {"SET e5 v", "+OK\r\n"sv},
    {"EXPIRETIME e5", ":-1\r\n"sv},
    {"PEXPIREAT e5 99999999999999", ":1\r\n"sv},
    {"PEXPIRETIME e5", ":99999999999999\r\n"sv},
    {"EXPIRETIME e5", ":100000000000\r\n"sv},
    {"RENAME nokey x", "-ERR no such key\r\n"sv},
    {"SET r1 v", "+OK\r\n"sv},
    {"RENAME r1 r1", "+OK\r\n"sv},
    {"RENAME r1 r2", "+OK\r\n"sv},
    {"GET r2", "$1\r\nv\r\n"sv},
    {"RENAMENX r2 r2", ":0\r\n"sv},
    {"SET r3 v", "+OK\r\n"sv},
    {"RENAMENX r2 r3", ":0\r\n"sv},
    {"RENAMENX r2 r4", ":1\r\n"sv},
    {"COPY r4 r5", ":1\r\n"sv},
    {"COPY r4 r5", ":0\r\n"sv},
    {"COPY r4 r5 REPLACE", ":1\r\n"sv},
    {"COPY r4 r4", "-ERR source and destination objects are the same\r\n"sv},
    {"COPY r4 r6 DB 1", "-ERR Copying to another database is not allowed in cluster mode\r\n"sv},
    {"COPY nokey r7", ":0\r\n"sv},
    {"COPY r4 r5 FOO", "-ERR syntax error\r\n"sv},
    {"OBJECT ENCODING r4", "$6\r\nembstr\r\n"sv},
    {"SET i 12345", "+OK\r\n"sv},
    {"OBJECT ENCODING i", "$3\r\nint\r\n"sv},
    {"SET l aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "+OK\r\n"sv},
    {"OBJECT ENCODING l", "$3\r\nraw\r\n"sv},
    {"OBJECT ENCODING nokey", "$-1\r\n"sv},
    {"OBJECT FREQ r4",
     "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"sv},
    {"OBJECT REFCOUNT r4", ":1\r\n"sv},
    {"OBJECT FOO r4", "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"sv},
    {"MEMORY USAGE nokey", "$-1\r\n"sv},
    {"MEMORY USAGE r4 SAMPLES", "-ERR syntax error\r\n"sv},
    {"MEMORY FOO", "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n"sv},
    {"SCAN abc", "-ERR invalid cursor\r\n"sv},
    {"SCAN 0 COUNT 0", "-ERR syntax error\r\n"sv},
    {"SCAN 0 COUNT abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SCAN 0 FOO bar", "-ERR syntax error\r\n"sv},
    {"SCAN 0 MATCH", "-ERR syntax error\r\n"sv},
    {"KEYS nomatch*", "*0\r\n"sv},
    {"DBSIZE nope", "-ERR wrong number of arguments for 'dbsize' command\r\n"sv},
    {"FLUSHALL FOO", "-ERR syntax error\r\n"sv},
    {"FLUSHDB ASYNC", "+OK\r\n"sv},
    {"DBSIZE", ":0\r\n"sv},
    {"RANDOMKEY", "$-1\r\n"sv},
    {"KEYS *", "*0\r\n"sv},
    {"SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SET only one", "+OK\r\n"sv},
    {"KEYS *", "*1\r\n$4\r\nonly\r\n"sv},
    {"RANDOMKEY", "$4\r\nonly\r\n"sv},
    {"SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"sv},
    {"SCAN 0 MATCH o*", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"sv},
    {"SCAN 0 MATCH x*", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"DBSIZE", ":1\r\n"sv},
    {"FLUSHALL SYNC", "+OK\r\n"sv},
};
const Case kRedis3[] = {
    {"SET k v", "+OK\r\n"sv},
    {"GET k", "$1\r\nv\r\n"sv},
    {"SET k v NX", "_\r\n"sv},
    {"SET k v2 XX", "+OK\r\n"sv},
    {"GET k", "$2\r\nv2\r\n"sv},
    {"SET k v3 GET", "$2\r\nv2\r\n"sv},
    {"SET missing v GET", "_\r\n"sv},
    {"SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v EX -1", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v EX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"sv},
    {"SET k v NX XX", "-ERR syntax error\r\n"sv},
    {"SET k v EX 10 PX 10", "-ERR syntax error\r\n"sv},
    {"SET k v KEEPTTL EX 10", "-ERR syntax error\r\n"sv},
    {"SET k v EX", "-ERR syntax error\r\n"sv},
    {"SET k v EX abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET k v FOO", "-ERR syntax error\r\n"sv},
    {"SET ttlk v EX 100", "+OK\r\n"sv},
    {"TTL ttlk", ":100\r\n"sv},
    {"SET ttlk v2 KEEPTTL", "+OK\r\n"sv},
    {"TTL ttlk", ":100\r\n"sv},
    {"SET ttlk v3", "+OK\r\n"sv},
    {"TTL ttlk", ":-1\r\n"sv},
    {"SET nxg v NX GET", "_\r\n"sv},
    {"SET nxg v2 NX GET", "$1\r\nv\r\n"sv},
    {"SETNX k x", ":0\r\n"sv},
    {"SETNX newk x", ":1\r\n"sv},
    {"SETEX sk 0 v", "-ERR invalid expire time in 'setex' command\r\n"sv},
    {"SETEX sk -5 v", "-ERR invalid expire time in 'setex' command\r\n"sv},
    {"SETEX sk 100 v", "+OK\r\n"sv},
    {"TTL sk", ":100\r\n"sv},
    {"PSETEX psk 100000 v", "+OK\r\n"sv},
    {"PTTL nokey", ":-2\r\n"sv},
    {"TTL nokey", ":-2\r\n"sv},
    {"TTL k", ":-1\r\n"sv},
    {"GETSET k newv", "$2\r\nv3\r\n"sv},
    {"GETSET nogs v", "_\r\n"sv},
    {"GETDEL k", "$4\r\nnewv\r\n"sv},
    {"GETDEL k", "_\r\n"sv},
    {"GETEX sk PERSIST", "$1\r\nv\r\n"sv},
    {"TTL sk", ":-1\r\n"sv},
    {"GETEX sk EX 50", "$1\r\nv\r\n"sv},
    {"TTL sk", ":50\r\n"sv},
    {"GETEX sk EX 0", "-ERR invalid expire time in 'getex' command\r\n"sv},
    {"GETEX sk PX 10 EX 10", "-ERR syntax error\r\n"sv},
    {"GETEX nokey EX 10", "_\r\n"sv},
    {"MGET sk newk nokey", "*3\r\n$1\r\nv\r\n$1\r\nx\r\n_\r\n"sv},
    {"MSET a 1 b 2", "+OK\r\n"sv},
    {"MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"sv},
    {"MSETNX a 1 c 3", ":0\r\n"sv},
    {"MSETNX c 3 d 4", ":1\r\n"sv},
    {"APPEND ap hello", ":5\r\n"sv},
    {"APPEND ap \" world\"", ":11\r\n"sv},
    {"GET ap", "$11\r\nhello world\r\n"sv},
    {"STRLEN ap", ":11\r\n"sv},
    {"STRLEN nokey", ":0\r\n"sv},
    {"GETRANGE ap 0 4", "$5\r\nhello\r\n"sv},
    {"GETRANGE ap -5 -1", "$5\r\nworld\r\n"sv},
    {"GETRANGE ap -1 -5", "$0\r\n\r\n"sv},
    {"GETRANGE ap 5 1", "$0\r\n\r\n"sv},
    {"GETRANGE ap 0 100", "$11\r\nhello world\r\n"sv},
    {"GETRANGE ap -100 2", "$3\r\nhel\r\n"sv},
    {"GETRANGE nokey 0 -1", "$0\r\n\r\n"sv},
    {"GETRANGE ap a b", "-ERR value is not an integer or out of range\r\n"sv},
    {"SETRANGE sr 5 hi", ":7\r\n"sv},
    {"GET sr",
     "$7\r\n\x00"
     "\x00"
     "\x00"
     "\x00"
     "\x00"
     "hi\r\n"sv},
    {"SETRANGE sr 0 \"\"", ":7\r\n"sv},
    {"SETRANGE nokey2 0 \"\"", ":0\r\n"sv},
    {"EXISTS nokey2", ":0\r\n"sv},
    {"SETRANGE sr -1 x", "-ERR offset is out of range\r\n"sv},
    {"SETRANGE sr 536870911 xx",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"sv},
    {"SETRANGE sr 1 HELLOWORLD", ":11\r\n"sv},
    {"GET sr",
     "$11\r\n\x00"
     "HELLOWORLD\r\n"sv},
    {"INCR cnt", ":1\r\n"sv},
    {"INCRBY cnt 10", ":11\r\n"sv},
    {"DECR cnt", ":10\r\n"sv},
    {"DECRBY cnt 5", ":5\r\n"sv},
    {"DECRBY cnt -9223372036854775808", "-ERR decrement would overflow\r\n"sv},
    {"INCRBY cnt abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET big 9223372036854775807", "+OK\r\n"sv},
    {"INCR big", "-ERR increment or decrement would overflow\r\n"sv},
    {"SET small -9223372036854775808", "+OK\r\n"sv},
    {"DECR small", "-ERR increment or decrement would overflow\r\n"sv},
    {"SET notint abc", "+OK\r\n"sv},
    {"INCR notint", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET spaced \" 1\"", "+OK\r\n"sv},
    {"INCR spaced", "-ERR value is not an integer or out of range\r\n"sv},
    {"SET lead 01", "+OK\r\n"sv},
    {"INCR lead", "-ERR value is not an integer or out of range\r\n"sv},
    {"INCRBYFLOAT f 1.5", "$3\r\n1.5\r\n"sv},
    {"INCRBYFLOAT f 0.1", "$3\r\n1.6\r\n"sv},
    {"INCRBYFLOAT f -1.6", "$1\r\n0\r\n"sv},
    {"INCRBYFLOAT f abc", "-ERR value is not a valid float\r\n"sv},
    {"INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity\r\n"sv},
    {"INCRBYFLOAT notint 1", "-ERR value is not a valid float\r\n"sv},
    {"SET fe 5.0e3", "+OK\r\n"sv},
    {"INCRBYFLOAT fe 1", "$4\r\n5001\r\n"sv},
    {"SET ff 10.50", "+OK\r\n"sv},
    {"INCRBYFLOAT ff 0", "$4\r\n10.5\r\n"sv},
    {"INCRBYFLOAT nf 3", "$1\r\n3\r\n"sv},
    {"INCRBYFLOAT nf2 1e2", "$3\r\n100\r\n"sv},
    {"DEL a b c nokey", ":3\r\n"sv},
    {"UNLINK d", ":1\r\n"sv},
    {"EXISTS sk sk nokey", ":2\r\n"sv},
    {"TYPE sr", "+string\r\n"sv},
    {"TYPE nokey", "+none\r\n"sv},
    {"TOUCH sr nokey", ":1\r\n"sv},
    {"SET e v", "+OK\r\n"sv},
    {"EXPIRE e 100", ":1\r\n"sv},
    {"TTL e", ":100\r\n"sv},
    {"EXPIRE e 100 NX", ":0\r\n"sv},
    {"EXPIRE e 200 XX", ":1\r\n"sv},
    {"TTL e", ":200\r\n"sv},
    {"EXPIRE e 50 GT", ":0\r\n"sv},
    {"EXPIRE e 500 GT", ":1\r\n"sv},
    {"TTL e", ":500\r\n"sv},
    {"EXPIRE e 600 LT", ":0\r\n"sv},
    {"EXPIRE e 10 LT", ":1\r\n"sv},
    {"TTL e", ":10\r\n"sv},
    {"EXPIRE e 10 NX XX",
     "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"sv},
    {"EXPIRE e 10 GT LT", "-ERR GT and LT options at the same time are not compatible\r\n"sv},
    {"EXPIRE e 10 FOO", "-ERR Unsupported option FOO\r\n"sv},
    {"EXPIRE e abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"EXPIRE e 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"sv},
    {"SET e2 v", "+OK\r\n"sv},
    {"EXPIRE e2 100 GT", ":0\r\n"sv},
    {"EXPIRE e2 100 LT", ":1\r\n"sv},
    {"TTL e2", ":100\r\n"sv},
    {"PERSIST e2", ":1\r\n"sv},
    {"PERSIST e2", ":0\r\n"sv},
    {"PERSIST nokey", ":0\r\n"sv},
    {"EXPIRE nokey 10", ":0\r\n"sv},
    {"EXPIRE e2 -1", ":1\r\n"sv},
    {"EXISTS e2", ":0\r\n"sv},
    {"SET e3 v", "+OK\r\n"sv},
    {"PEXPIRE e3 0", ":1\r\n"sv},
    {"EXISTS e3", ":0\r\n"sv},
    {"SET e4 v", "+OK\r\n"sv},
    {"EXPIREAT e4 1", ":1\r\n"sv},
    {"EXISTS e4", ":0\r\n"sv},
    {"EXPIRETIME nokey", ":-2\r\n"sv},
    {"SET e5 v", "+OK\r\n"sv},
    {"EXPIRETIME e5", ":-1\r\n"sv},
    {"PEXPIREAT e5 99999999999999", ":1\r\n"sv},
    {"PEXPIRETIME e5", ":99999999999999\r\n"sv},
    {"EXPIRETIME e5", ":100000000000\r\n"sv},
    {"RENAME nokey x", "-ERR no such key\r\n"sv},
    {"SET r1 v", "+OK\r\n"sv},
    {"RENAME r1 r1", "+OK\r\n"sv},
    {"RENAME r1 r2", "+OK\r\n"sv},
    {"GET r2", "$1\r\nv\r\n"sv},
    {"RENAMENX r2 r2", ":0\r\n"sv},
    {"SET r3 v", "+OK\r\n"sv},
    {"RENAMENX r2 r3", ":0\r\n"sv},
    {"RENAMENX r2 r4", ":1\r\n"sv},
    {"COPY r4 r5", ":1\r\n"sv},
    {"COPY r4 r5", ":0\r\n"sv},
    {"COPY r4 r5 REPLACE", ":1\r\n"sv},
    {"COPY r4 r4", "-ERR source and destination objects are the same\r\n"sv},
    {"COPY r4 r6 DB 1", "-ERR Copying to another database is not allowed in cluster mode\r\n"sv},
    {"COPY nokey r7", ":0\r\n"sv},
    {"COPY r4 r5 FOO", "-ERR syntax error\r\n"sv},
    {"OBJECT ENCODING r4", "$6\r\nembstr\r\n"sv},
    {"SET i 12345", "+OK\r\n"sv},
    {"OBJECT ENCODING i", "$3\r\nint\r\n"sv},
    {"SET l aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "+OK\r\n"sv},
    {"OBJECT ENCODING l", "$3\r\nraw\r\n"sv},
    {"OBJECT ENCODING nokey", "_\r\n"sv},
    {"OBJECT FREQ r4",
     "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"sv},
    {"OBJECT REFCOUNT r4", ":1\r\n"sv},
    {"OBJECT FOO r4", "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"sv},
    {"MEMORY USAGE nokey", "_\r\n"sv},
    {"MEMORY USAGE r4 SAMPLES", "-ERR syntax error\r\n"sv},
    {"MEMORY FOO", "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n"sv},
    {"SCAN abc", "-ERR invalid cursor\r\n"sv},
    {"SCAN 0 COUNT 0", "-ERR syntax error\r\n"sv},
    {"SCAN 0 COUNT abc", "-ERR value is not an integer or out of range\r\n"sv},
    {"SCAN 0 FOO bar", "-ERR syntax error\r\n"sv},
    {"SCAN 0 MATCH", "-ERR syntax error\r\n"sv},
    {"KEYS nomatch*", "*0\r\n"sv},
    {"DBSIZE nope", "-ERR wrong number of arguments for 'dbsize' command\r\n"sv},
    {"FLUSHALL FOO", "-ERR syntax error\r\n"sv},
    {"FLUSHDB ASYNC", "+OK\r\n"sv},
    {"DBSIZE", ":0\r\n"sv},
    {"RANDOMKEY", "_\r\n"sv},
    {"KEYS *", "*0\r\n"sv},
    {"SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SET only one", "+OK\r\n"sv},
    {"KEYS *", "*1\r\n$4\r\nonly\r\n"sv},
    {"RANDOMKEY", "$4\r\nonly\r\n"sv},
    {"SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"sv},
    {"SCAN 0 MATCH o*", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"sv},
    {"SCAN 0 MATCH x*", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"DBSIZE", ":1\r\n"sv},
    {"FLUSHALL SYNC", "+OK\r\n"sv},
};

const Case kRedisEdges[] = {
    {"SCAN \"\"", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN +5", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN -", "-ERR invalid cursor\r\n"sv},
    {"SCAN \" 1\"", "-ERR invalid cursor\r\n"sv},
    {"SCAN 1x", "-ERR invalid cursor\r\n"sv},
    {"SCAN -1", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN 18446744073709551615", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN 18446744073709551616", "-ERR invalid cursor\r\n"sv},
    {"SCAN 00", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SCAN 0 MATCH", "-ERR syntax error\r\n"sv},
    {"SCAN 0 count 5 type string match *", "*2\r\n$1\r\n0\r\n*0\r\n"sv},
    {"SET h1 v", "+OK\r\n"sv},
    {"SET h2 v", "+OK\r\n"sv},
    {"SET hx v", "+OK\r\n"sv},
    {"KEYS h[a-z]", "*1\r\n$2\r\nhx\r\n"sv},
    {"KEYS h\\x", "*1\r\n$2\r\nhx\r\n"sv},
    {"EXPIRE h1 -9223372036854775808", "-ERR invalid expire time in 'expire' command\r\n"sv},
    {"EXPIRE h2 -9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"sv},
    {"EXISTS h1 h2", ":2\r\n"sv},
    {"PEXPIRE hx -9223372036854775808", ":1\r\n"sv},
    {"PEXPIRE hx 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n"sv},
    {"PEXPIREAT hx 9223372036854775807", ":0\r\n"sv},
    {"EXPIREAT hx 9223372036854775807", "-ERR invalid expire time in 'expireat' command\r\n"sv},
    {"TTL hx", ":-2\r\n"sv},
    {"SET n 10", "+OK\r\n"sv},
    {"INCRBY n 9223372036854775807", "-ERR increment or decrement would overflow\r\n"sv},
    {"DECRBY n 9223372036854775807", ":-9223372036854775797\r\n"sv},
    {"DECRBY n -9223372036854775807", ":10\r\n"sv},
    {"INCRBYFLOAT n 1e400",
     "$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"sv},
    {"INCRBYFLOAT n \"1 \"", "-ERR value is not a valid float\r\n"sv},
    {"INCRBYFLOAT n \" 1\"", "-ERR value is not a valid float\r\n"sv},
    {"INCRBYFLOAT n 0x10",
     "$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"sv},
    {"INCRBYFLOAT n 1.0e1",
     "$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"sv},
    {"SET z 3.0", "+OK\r\n"sv},
    {"INCRBYFLOAT z 0.1", "$3\r\n3.1\r\n"sv},
    {"SET z 1e10", "+OK\r\n"sv},
    {"INCRBYFLOAT z 1", "$11\r\n10000000001\r\n"sv},
    {"SET big 17179869184", "+OK\r\n"sv},
    {"INCRBYFLOAT big 0.5", "$13\r\n17179869184.5\r\n"sv},
    {"APPEND n \"\"", ":401\r\n"sv},
    {"GETRANGE n 0 -1",
     "$401\r\n10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880\r\n"sv},
    {"GETRANGE n -100 -100", "$1\r\n2\r\n"sv},
    {"GETRANGE n 1 0", "$0\r\n\r\n"sv},
    {"SETRANGE n 100000000000 x",
     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"sv},
    {"SET s \"\"", "+OK\r\n"sv},
    {"GET s", "$0\r\n\r\n"sv},
    {"STRLEN s", ":0\r\n"sv},
    {"OBJECT ENCODING s", "$6\r\nembstr\r\n"sv},
    {"SET s2 12345678901234567890", "+OK\r\n"sv},
    {"OBJECT ENCODING s2", "$6\r\nembstr\r\n"sv},
    {"SET s3 -1", "+OK\r\n"sv},
    {"OBJECT ENCODING s3", "$3\r\nint\r\n"sv},
    {"SET s4 \" 1\"", "+OK\r\n"sv},
    {"OBJECT ENCODING s4", "$6\r\nembstr\r\n"sv},
    {"GETEX s PXAT 1", "$0\r\n\r\n"sv},
    {"EXISTS s", ":0\r\n"sv},
    {"MSETNX", "-ERR wrong number of arguments for 'msetnx' command\r\n"sv},
    {"MGET", "-ERR wrong number of arguments for 'mget' command\r\n"sv},
    {"TOUCH", "-ERR wrong number of arguments for 'touch' command\r\n"sv},
    {"EXISTS", "-ERR wrong number of arguments for 'exists' command\r\n"sv},
    {"DEL", "-ERR wrong number of arguments for 'del' command\r\n"sv},
    {"SET a b EXAT 1", "+OK\r\n"sv},
    {"EXISTS a", ":0\r\n"sv},
    {"SET a b PXAT 99999999999999999", "+OK\r\n"sv},
};

template <std::size_t N>
void run_cases(const Case (&cases)[N], bool resp3) {
  resp_test::Harness h;
  if (resp3) REQUIRE(h.raw("HELLO 3\r\n").rfind("%7\r\n", 0) == 0);
  for (const Case& c : cases) {
    INFO("command: " << c.command);
    REQUIRE(h.raw(std::string(c.command) + "\r\n") == std::string(c.reply));
  }
}

}  // namespace

TEST_CASE("data commands answer as redis-server 7.0 does (RESP2)", "[resp][commands]") {
  run_cases(kRedis2, false);
}

TEST_CASE("data commands answer as redis-server 7.0 does (RESP3)", "[resp][commands]") {
  run_cases(kRedis3, true);
}

TEST_CASE("numeric, cursor and pattern edge cases answer as redis-server 7.0 does",
          "[resp][commands]") {
  run_cases(kRedisEdges, false);
}

TEST_CASE("keys expire by the wall time handed in", "[resp][commands]") {
  resp_test::Harness h;
  CHECK(h.send({"SET", "k", "v", "PX", "1500"}) == "+OK\r\n");
  CHECK(h.send({"PTTL", "k"}) == ":1500\r\n");
  CHECK(h.send({"TTL", "k"}) == ":2\r\n");  // rounded like Redis
  h.advance(std::chrono::milliseconds(1499));
  CHECK(h.send({"GET", "k"}) == "$1\r\nv\r\n");
  h.advance(std::chrono::milliseconds(1));
  // As in Redis, a key lives through its expiry millisecond and is gone after it.
  CHECK(h.send({"PTTL", "k"}) == ":0\r\n");
  h.advance(std::chrono::milliseconds(1));
  CHECK(h.send({"GET", "k"}) == "$-1\r\n");
  CHECK(h.send({"TTL", "k"}) == ":-2\r\n");
  resp_test::Harness g;
  CHECK(g.send({"SET", "a", "v", "EXAT", "1700000010"}) == "+OK\r\n");
  CHECK(g.send({"EXPIRETIME", "a"}) == ":1700000010\r\n");
  CHECK(g.send({"TTL", "a"}) == ":10\r\n");
}

TEST_CASE("RENAME keeps the TTL and the value", "[resp][commands]") {
  resp_test::Harness h;
  CHECK(h.send({"SET", "src", "v", "EX", "100"}) == "+OK\r\n");
  CHECK(h.send({"RENAME", "src", "dst"}) == "+OK\r\n");
  CHECK(h.send({"TTL", "dst"}) == ":100\r\n");
  CHECK(h.send({"EXISTS", "src"}) == ":0\r\n");
}

TEST_CASE("KEYS and SCAN visit every key once", "[resp][commands]") {
  resp_test::Harness h;
  for (int i = 0; i < 100; ++i) {
    REQUIRE(h.send({"SET", "key:" + std::to_string(i), "v"}) == "+OK\r\n");
  }
  REQUIRE(h.send({"SET", "other", "v"}) == "+OK\r\n");
  CHECK(h.send({"KEYS", "key:*"}).rfind("*100\r\n", 0) == 0);
  CHECK(h.send({"DBSIZE"}) == ":101\r\n");
  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    h.c().feed(h.now, h.wall, resp_test::cmd({"SCAN", cursor, "MATCH", "key:*", "COUNT", "7"}));
    const std::string out = h.drain();
    // *2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n($<n>\r\n<key>\r\n)*
    std::size_t p = out.find("\r\n", 4) + 2;
    const std::size_t e = out.find("\r\n", p);
    cursor = out.substr(p, e - p);
    p = out.find("\r\n", e + 2) + 2;
    while (p < out.size()) {
      const std::size_t len_end = out.find("\r\n", p);
      const auto len = std::stoul(out.substr(p + 1, len_end - p - 1));
      const std::string key = out.substr(len_end + 2, len);
      CHECK(key.rfind("key:", 0) == 0);
      seen.insert(key);
      p = len_end + 2 + len + 2;
    }
    REQUIRE(++rounds < 1000);
  } while (cursor != "0");
  CHECK(seen.size() == 100);
}

TEST_CASE("MSET and MGET round trip many keys in one request", "[resp][commands]") {
  resp_test::Harness h;
  CHECK(h.send({"MSET", "a", "1", "b", "2", "c", "3"}) == "+OK\r\n");
  CHECK(h.send({"MGET", "a", "b", "nope", "c"}) ==
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n");
  CHECK(h.send({"FLUSHALL"}) == "+OK\r\n");
  CHECK(h.send({"DBSIZE"}) == ":0\r\n");
}

TEST_CASE("OBJECT FREQ/IDLETIME follow the eviction policy, MEMORY USAGE sizes a key",
          "[resp][commands]") {
  resp_test::Harness h;
  CHECK(h.send({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.send({"OBJECT", "IDLETIME", "k"}) == ":0\r\n");
  CHECK(h.send({"OBJECT", "FREQ", "k"}).rfind("-ERR An LFU maxmemory policy is not selected", 0) ==
        0);
  const std::string usage = h.send({"MEMORY", "USAGE", "k"});
  REQUIRE(usage.rfind(":", 0) == 0);
  CHECK(std::stol(usage.substr(1)) > 0);
  CHECK(h.send({"MEMORY", "USAGE", "nokey"}) == "$-1\r\n");
}

TEST_CASE("data commands without a store answer an error, not a crash", "[resp][commands]") {
  apiary::resp::Server server;
  auto c = server.connect({}, {});
  c->feed({}, {}, "GET k\r\nPING\r\n");
  CHECK(c->output() == "-ERR this node has no keyspace attached\r\n+PONG\r\n");
}
