from reference import runtime, serve
from reference.bff.app import build_app

if __name__ == "__main__":
    # In a pod, a missing or malformed setting ends here, in one line (exit 2).
    rt = runtime.load_or_exit("bff")
    serve.run(build_app(rt), rt.port, rt.host, rt.log_level)
