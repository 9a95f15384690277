"""metaregistry.mock"""
