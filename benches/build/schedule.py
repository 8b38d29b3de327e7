# Estimated wall time of a build on N idle cores: a list schedule of the unit graph with each unit's measured
# rustc CPU time (from the rustc-cpu log), one core per rustc (rustc's own parallelism ignored: pessimistic for
# big crates' codegen, optimistic for nothing else), longest-remaining-path first, as cargo roughly does.
import json,sys,collections,heapq
units=json.load(open(sys.argv[1]))['units']; log=sys.argv[2]; cores=int(sys.argv[3]) if len(sys.argv)>3 else 2
cpu=collections.defaultdict(list)
for l in open(log):
    p=l.split()
    if len(p)!=5: continue
    try: cpu[p[0]].append(float(p[1])+float(p[2]))
    except: pass
bs=cpu.pop('build_script_build',[]); bs_mean=sum(bs)/len(bs) if bs else 0
def cost(u):
    if u['mode']=='run-custom-build': return 0.5
    name=u['target']['name'].replace('-','_')
    if u['target']['kind']==['custom-build']: return bs_mean
    v=cpu.get(name)
    return (sum(v)/len(v)) if v else 0.0
c=[cost(u) for u in units]
deps=[[d['index'] for d in u['dependencies']] for u in units]
rdeps=collections.defaultdict(list)
for i,ds in enumerate(deps):
    for d in ds: rdeps[d].append(i)
memo={}
def tail(i):
    if i in memo: return memo[i]
    memo[i]=c[i]+max([tail(j) for j in rdeps[i]] or [0]); return memo[i]
for i in range(len(units)): tail(i)
waiting=[len(set(d)) for d in deps]
ready=[(-memo[i],i) for i in range(len(units)) if waiting[i]==0]; heapq.heapify(ready)
t=0; running=[]; done=0
while ready or running:
    while ready and len(running)<cores:
        _,i=heapq.heappop(ready); heapq.heappush(running,(t+c[i],i))
    t,i=heapq.heappop(running); done+=1
    for j in set(rdeps[i]):
        waiting[j]-=1
        if waiting[j]==0: heapq.heappush(ready,(-memo[j],j))
print("units %d, CPU %.0f s, critical path %.0f s, estimated wall on %d cores %.0f s (%.1f min)"%(len(units),sum(c),max(memo.values()),cores,t,t/60))
