"""metaregistry.api"""
