"""Built-in enhancers. Adding one = one new file in this folder + one entry below.

Each entry is the lazy 'module:Class' path and the plugin's metadata (`facebench.plugin_meta`), declared
here once and used as the class's `meta`, so `facebench list` reads it without importing model code.
"""
from facebench.plugin_meta import Builtin, PluginMeta
from facebench.weights_sources import PackagedFile, UserFile, UserFolder, Variants

_TRAINED_HERE = "facebench.enhancers"  # the package holding weights/ (weights this project trained)


def _cpu_weights(name: str) -> PackagedFile:
    """The `cpu` variant of a seed model: weights/<name>_cpu.pt, trained by this project and shipped."""
    return PackagedFile(_TRAINED_HERE, f"weights/{name}_cpu.pt", missing="missing from the package; reinstall "
                        f"facebench, pass --weights PATH or train-enhancer {name}")


BUILTIN_ENHANCERS = {
    "none": Builtin("facebench.enhancers.classic:Identity", PluginMeta(description="no enhancement (baseline)")),
    "mlsm": Builtin("facebench.enhancers.mlsm:MLSMEnhancer", PluginMeta(
        description="MLSM: two multi-level VAEs + latent mapping (this project's CPU-trained weights)",
        paper="Multiple Latent Space Mapping for Compressed Dark Image Enhancement, arXiv 2403.07622",
        weights=PackagedFile("facebench.mlsm", "weights/mlsm_default.pt",
                             missing="missing from the package; pass --weights PATH or train-enhancer mlsm"),
        options={"tile": 1152, "overlap": 64})),
    "gamma": Builtin("facebench.enhancers.classic:Gamma", PluginMeta(
        description="global gamma curve out = in**gamma (gamma 0.4)", options={"gamma": 0.4})),
    "he": Builtin("facebench.enhancers.classic:HistogramEqualization", PluginMeta(
        description="histogram equalisation of luma (YCrCb Y)")),
    "clahe": Builtin("facebench.enhancers.classic:CLAHE", PluginMeta(
        description="CLAHE on CIELAB L (clip 2.0, 8x8 tiles)", options={"clip_limit": 2.0, "tile_grid": 8})),
    "zerodce": Builtin("facebench.enhancers.zerodce:ZeroDCE", PluginMeta(
        description="Zero-DCE: 8 pixel-wise quadratic curves estimated by a 7-layer CNN (authors' weights)",
        paper="Guo et al., Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement, CVPR 2020",
        weights=UserFile("zerodce/Epoch99.pth",
                         "https://github.com/Li-Chongyi/Zero-DCE (Zero-DCE_code/snapshots/Epoch99.pth)"))),
    "zerodce++": Builtin("facebench.enhancers.zerodce_pp:ZeroDCEPlus", PluginMeta(
        description="Zero-DCE++: one curve map from a depthwise-separable CNN at 1/12 scale, applied 8x",
        paper="Li, Guo & Loy, Learning to Enhance Low-Light Image via Zero-Reference Deep Curve Estimation, "
              "TPAMI 2021",
        weights=UserFile("zerodce_pp/Epoch99.pth", "https://github.com/Li-Chongyi/Zero-DCE_extension "
                                                   "(Zero-DCE++/snapshots_Zero_DCE++/Epoch99.pth)"),
        options={"scale_factor": 12})),
    "sci": Builtin("facebench.enhancers.sci:SCI", PluginMeta(
        description="SCI: self-calibrated illumination, 3-conv test-time net (authors' DARK FACE weights)",
        paper="Ma et al., Toward Fast, Flexible, and Robust Low-Light Image Enhancement, CVPR 2022",
        weights=UserFile("sci/difficult.pt",
                         "https://github.com/vis-opt-group/SCI ({easy,medium,difficult}.pt of the release)"),
        options={"variant": "difficult"})),
    "ruas": Builtin("facebench.enhancers.ruas:RUAS", PluginMeta(
        description="RUAS: unrolled Retinex illumination + searched denoiser (authors' DARK FACE weights)",
        paper="Liu et al., Retinex-inspired Unrolling with Cooperative Prior Architecture Search for Low-light "
              "Image Enhancement, CVPR 2021",
        weights=UserFile("ruas/dark.pt", "https://github.com/KarelZhang/RUAS (ckpt/{dark,lol,upe}.pt)"),
        options={"variant": "dark"})),
    "lime": Builtin("facebench.enhancers.lime:LIME", PluginMeta(
        description="LIME: max-RGB illumination refined by a sparse exact solve (strategy III), gamma 0.8",
        paper="Guo, Li, Ling, LIME: Low-Light Image Enhancement via Illumination Map Estimation, TIP 2017",
        options={"alpha": 0.15, "sigma": 2.0, "epsilon": 1e-3, "gamma": 0.8, "solve_scale": 1.0,
                 "denoise": False, "denoise_strength": 10.0})),
    "msrcr": Builtin("facebench.enhancers.msrcr:MSRCR", PluginMeta(
        description="multi-scale Retinex with colour restoration (15/80/250, alpha 125, beta 46) + colour balance",
        paper="Jobson, Rahman, Woodell, A multiscale retinex for bridging the gap between color images and the "
              "human observation of scenes, IEEE TIP 1997",
        options={"scales": (15.0, 80.0, 250.0), "alpha": 125.0, "beta": 46.0, "clip_low": 0.01,
                 "clip_high": 0.01})),
    "deblock": Builtin("facebench.enhancers.deblock:Deblock", PluginMeta(
        description="QF-aware residual CNN JPEG deblocker (project-trained, DnCNN-3 style)",
        paper="Dong et al. ARCNN (ICCV 2015); Zhang et al. DnCNN (TIP 2017)",
        weights=PackagedFile(_TRAINED_HERE, "weights/deblock_default.pt"),
        options={"qf": None})),
    "nerco": Builtin("facebench.enhancers.nerco:NeRCo", PluginMeta(
        description="NeRCo: implicit neural representation + cooperative dual-loop GAN (weights: see card)",
        paper="Yang et al., Implicit Neural Representation for Cooperative Low-light Image Enhancement, ICCV 2023",
        weights=Variants({
            "cpu": _cpu_weights("nerco"),
            "authors": UserFolder("nerco", ("latest_net_G_A.pth", "latest_net_Pre.pth", "latest_net_H.pth"),
                                  "https://github.com/Ysz2022/NeRCo (the LSRW- or LOL-trained model its README links)",
                                  train="facebench train-enhancer nerco")}),
        options={"variant": "cpu"})),
    "lightendiffusion": Builtin("facebench.enhancers.lightendiffusion:LightenDiffusion", PluginMeta(
        description="LightenDiffusion: unsupervised latent-Retinex diffusion, seeded 20-step DDIM (weights: see card)",
        paper="Jiang et al., LightenDiffusion: Unsupervised Low-Light Image Enhancement with Latent-Retinex "
              "Diffusion Models, ECCV 2024",
        weights=Variants({
            "cpu": _cpu_weights("lightendiffusion"),
            "authors": UserFile("lightendiffusion/stage2_weight.pth.tar",
                                "https://github.com/JianghaiSCU/LightenDiffusion (ckpt/stage2/stage2_weight.pth.tar, "
                                "Google Drive / Baidu links in its README), or train your own with "
                                "`facebench train-enhancer lightendiffusion`")}),
        options={"variant": "cpu", "seed": 0, "steps": 20, "clip_x0": None, "sample_side": 0,
                 "max_megapixels": 4.0})),
    "mrvae": Builtin("facebench.enhancers.mrvae:MRVAE", PluginMeta(
        description="MR-VAE: U-Net VAE global reconstruction + residual detail reconstruction (weights: see card)",
        paper="Jiang, Wu, Zhang, Low-illumination image enhancement based on MR-VAE, Chinese J. Computers 2020",
        weights=Variants({
            "cpu": _cpu_weights("mrvae"),
            "authors": UserFile("mrvae/authors.pt",
                                "a TensorFlow checkpoint of the authors' code (https://github.com/csxuwu/MR-VAE; no "
                                "trained weights published) converted with "
                                "`facebench convert-weights mrvae CKPT OUT.pt`")}),
        options={"variant": "cpu", "noise_seed": None, "resize": 0, "max_pixels": 4_000_000})),
}
