"""Print the count tables of a corpus3 jsonl as Markdown (language x kind x category)."""
import json, sys, collections
CATS=["health","religion","ethnic_origin","political_opinion","trade_union","sex_life","genetic","biometric","iban","card","tax_id","social_security","id_card","passport","phone","email"]
rows=[json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
k=collections.Counter((r['lang'],r['kind']) for r in rows)
keep=collections.Counter()
c=collections.Counter()
for r in rows:
    keep[(r['lang'],r['kind'])]+=len(r['keep'])
    for e in r['expect']: c[(r['lang'],r['kind'],e['category'])]+=1
print("| language | positive | negative | evasion | total | keep spans |\n|---|---:|---:|---:|---:|---:|")
for L in ("de","en"):
    t=sum(k[(L,x)] for x in ("positive","negative","evasion"))
    print("| %s | %d | %d (%.0f %%) | %d (%.0f %%) | %d | %d |"%(L,k[(L,'positive')],k[(L,'negative')],100*k[(L,'negative')]/t,k[(L,'evasion')],100*k[(L,'evasion')]/t,t,sum(keep[(L,x)] for x in ("positive","negative","evasion"))))
print("\nExpected spans (negatives have none):\n")
print("| category | de positive | de evasion | de total | en positive | en evasion | en total |\n|---|---:|---:|---:|---:|---:|---:|")
tot=collections.Counter()
for cat in CATS:
    a=[c[('de','positive',cat)],c[('de','evasion',cat)],c[('en','positive',cat)],c[('en','evasion',cat)]]
    for i,v in enumerate(a): tot[i]+=v
    print("| `%s` | %d | %d | %d | %d | %d | %d |"%(cat,a[0],a[1],a[0]+a[1],a[2],a[3],a[2]+a[3]))
print("| all | %d | %d | %d | %d | %d | %d |"%(tot[0],tot[1],tot[0]+tot[1],tot[2],tot[3],tot[2]+tot[3]))
