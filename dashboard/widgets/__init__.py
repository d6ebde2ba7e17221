"""../dashboard/widgets"""
