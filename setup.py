from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open('mmhmr/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(fname):
    reqs = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


if __name__ == '__main__':
    setup(
        name='mmhmr',
        version=get_version(),
        description='Human mesh recovery for MMPose 1.x / MMEngine',
        long_description=readme(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
        include_package_data=True,
        python_requires='>=3.8',
        license='Apache License 2.0',
        # mmcv / mmengine / mmdet / mmpose: see requirements/mminstall.txt and
        # tools/setup_env.sh (mmpose must be installed without chumpy).
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require=dict(
            tests=parse_requirements('requirements/tests.txt'),
            optional=parse_requirements('requirements/optional.txt'),
            mim=parse_requirements('requirements/mminstall.txt'),
        ),
        zip_safe=False)
