"""Built-in enhancers. Adding one = one new file in this folder + one line below.

Names map to lazy 'module:Class' paths so listing enhancers imports no model code.
"""

BUILTIN_ENHANCERS = {
    "none": "facebench.enhancers.classic:Identity",
    "mlsm": "facebench.enhancers.mlsm:MLSMEnhancer",
    "gamma": "facebench.enhancers.classic:Gamma",
    "he": "facebench.enhancers.classic:HistogramEqualization",
    "clahe": "facebench.enhancers.classic:CLAHE",
    "zerodce": "facebench.enhancers.zerodce:ZeroDCE",
    "zerodce++": "facebench.enhancers.zerodce_pp:ZeroDCEPlus",
    "sci": "facebench.enhancers.sci:SCI",
    "ruas": "facebench.enhancers.ruas:RUAS",
    "lime": "facebench.enhancers.lime:LIME",
    "msrcr": "facebench.enhancers.msrcr:MSRCR",
    "deblock": "facebench.enhancers.deblock:Deblock",
    "nerco": "facebench.enhancers.nerco:NeRCo",
    "lightendiffusion": "facebench.enhancers.lightendiffusion:LightenDiffusion",
    "mrvae": "facebench.enhancers.mrvae:MRVAE",
}
