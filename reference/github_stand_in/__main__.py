from reference import runtime, serve
from reference.github_stand_in.app import build_app

if __name__ == "__main__":
    rt = runtime.load()
    serve.run(build_app(rt), rt.port)
