# Optional download of the raw input: the workflow's only network access. Defined only when
# config input.download.url is set; it writes input.path and checks the published MD5. If
# input.path already exists (downloaded by hand), Snakemake does not run it.

if config["input"]["download"]["url"]:

    rule download:
        output:
            config["input"]["path"],
        params:
            url=cfg("input", "download", "url"),
            md5=cfg("input", "download", "md5"),
            member=cfg("input", "download", "member"),
            timeout=cfg("input", "download", "timeout"),
        log:
            LOG("download"),
        threads: 1
        resources:
            mem_mb=500,
            runtime=180,
        script:
            "../../scripts/download.py"
