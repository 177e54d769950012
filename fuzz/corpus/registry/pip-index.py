PyPI = PackageIndex("https://pypi-default.example.test/", file_storage_domain="files.example.test")
