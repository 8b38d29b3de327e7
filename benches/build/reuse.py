# Which units of one build (a `cargo +nightly build --unit-graph -Z unstable-options` JSON) a second build cannot
# reuse: the same package, target, mode, features and profile settings (the profile's name aside, as cargo's
# own hash does), with every dependency reused in turn.
# Usage: reuse.py first.json second.json
import json,sys
def load(p):
    g=json.load(open(p))
    return g['units']
a=load(sys.argv[1]); b=load(sys.argv[2])
def key(u):
    return (u['pkg_id'].split('#')[-1] if '#' in u['pkg_id'] else u['pkg_id'], u['target']['name'], tuple(u['target']['kind']), u['mode'], tuple(sorted(u['features'])), json.dumps({k:v for k,v in u['profile'].items() if k!='name'},sort_keys=True), u.get('platform'))
def name(u): return u['pkg_id']
bk=set(key(u) for u in b)
bfeat={}
for u in b:
    bfeat.setdefault((u['pkg_id'],u['target']['name'],u['mode']),[]).append(sorted(u['features']))
miss=[u for u in a if key(u) not in bk]
# direct feature diffs (root causes): units whose pkg exists in b with different features
print(len(a), "units in first;", len(miss), "not reused")
for u in miss:
    k=(u['pkg_id'],u['target']['name'],u['mode'])
    fs=bfeat.get(k)
    if fs and all(sorted(u['features'])!=f for f in fs):
        extra=[sorted(set(f)-set(u['features'])) for f in fs]
        print("FEAT", u['pkg_id'].split('/')[-1], u['mode'], "extra in test:", extra)
print("names not reused:", sorted(set(u['pkg_id'].split('/')[-1] for u in miss)))
# transitive: a unit is reused iff key in b-set and all deps reused (b keys computed transitively too)
def tkeys(units):
    memo={}
    def k(i):
        if i in memo: return memo[i]
        u=units[i]
        memo[i]=None
        r=(key(u), tuple(sorted(k(d['index']) for d in u['dependencies'])))
        r=hash(r)
        memo[i]=r
        return r
    return [k(i) for i in range(len(units))]
ta=tkeys(a); tb=set(tkeys(b))
notre=[a[i] for i in range(len(a)) if ta[i] not in tb]
print("transitively not reused:", len(notre), sorted(set(u['pkg_id'].split('#')[-1] for u in notre)))
