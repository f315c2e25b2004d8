/*
 * VK_LAYER_XINIT_test_offer: a stand-in for a driver that offers more than the device
 * below it, for swapchain-test. Placed below VK_LAYER_XINIT_present, it adds
 * VK_KHR_present_wait, VK_KHR_present_id, VK_EXT_swapchain_maintenance1 and
 * VK_NV_low_latency2 to the device's extensions, reports their features as supported,
 * and takes the extensions out again at vkCreateDevice, so that the device below is
 * created without them. Each instance prints one line on stderr: proof it was loaded.
 * It is a test tool: nothing installs it.
 */
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static const char *const offered[] = {"VK_KHR_present_wait", "VK_KHR_present_id",
				      "VK_EXT_swapchain_maintenance1", "VK_NV_low_latency2"};
#define NOFFERED (sizeof offered / sizeof offered[0])

/* one instance at a time: enough for swapchain-test */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static PFN_vkGetInstanceProcAddr next_gipa;
static PFN_vkGetDeviceProcAddr next_gdpa;
static VkInstance instance;

static PFN_vkVoidFunction next(const char *name) {
	pthread_mutex_lock(&lock);
	PFN_vkVoidFunction f = next_gipa ? next_gipa(instance, name) : NULL;
	pthread_mutex_unlock(&lock);
	return f;
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateInstance(const VkInstanceCreateInfo *ci,
						     const VkAllocationCallbacks *alloc,
						     VkInstance *out) {
	VkLayerInstanceCreateInfo *link = (VkLayerInstanceCreateInfo *)ci->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (VkLayerInstanceCreateInfo *)link->pNext;
	if (!link)
		return VK_ERROR_INITIALIZATION_FAILED;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	VkResult r = ((PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance"))(ci, alloc, out);
	if (r != VK_SUCCESS)
		return r;
	pthread_mutex_lock(&lock);
	next_gipa = gipa;
	instance = *out;
	pthread_mutex_unlock(&lock);
	static const char line[] = "VK_LAYER_XINIT_test_offer: offering present_wait, present_id, "
				   "swapchain_maintenance1, low_latency2\n";
	if (write(STDERR_FILENO, line, sizeof line - 1) < 0)
		return VK_SUCCESS;
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(
    VkPhysicalDevice pd, const char *layer, uint32_t *count, VkExtensionProperties *out) {
	PFN_vkEnumerateDeviceExtensionProperties down =
	    (PFN_vkEnumerateDeviceExtensionProperties)next("vkEnumerateDeviceExtensionProperties");
	if (layer)
		return down(pd, layer, count, out);
	uint32_t n = 0;
	VkResult r = down(pd, NULL, &n, NULL);
	if (r != VK_SUCCESS)
		return r;
	VkExtensionProperties *all = calloc(n + NOFFERED, sizeof *all);
	if (!all)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	if ((r = down(pd, NULL, &n, all)) < 0) {
		free(all);
		return r;
	}
	for (uint32_t k = 0; k < NOFFERED; k++) {
		snprintf(all[n].extensionName, sizeof all[n].extensionName, "%s", offered[k]);
		all[n++].specVersion = 1;
	}
	if (!out) {
		*count = n;
		r = VK_SUCCESS;
	} else {
		r = *count < n ? VK_INCOMPLETE : VK_SUCCESS;
		if (*count > n)
			*count = n;
		memcpy(out, all, *count * sizeof *out);
	}
	free(all);
	return r;
}

static void offer_features(VkPhysicalDeviceFeatures2 *f) {
	for (VkBaseOutStructure *p = f->pNext; p; p = p->pNext) {
		if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR)
			((VkPhysicalDevicePresentWaitFeaturesKHR *)p)->presentWait = VK_TRUE;
		else if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR)
			((VkPhysicalDevicePresentIdFeaturesKHR *)p)->presentId = VK_TRUE;
		else if (p->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_EXT)
			((VkPhysicalDeviceSwapchainMaintenance1FeaturesEXT *)p)->swapchainMaintenance1 =
			    VK_TRUE;
	}
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2(VkPhysicalDevice pd,
							     VkPhysicalDeviceFeatures2 *f) {
	((PFN_vkGetPhysicalDeviceFeatures2)next("vkGetPhysicalDeviceFeatures2"))(pd, f);
	offer_features(f);
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2KHR(VkPhysicalDevice pd,
								VkPhysicalDeviceFeatures2 *f) {
	((PFN_vkGetPhysicalDeviceFeatures2KHR)next("vkGetPhysicalDeviceFeatures2KHR"))(pd, f);
	offer_features(f);
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo *ci,
						   const VkAllocationCallbacks *alloc,
						   VkDevice *out) {
	VkLayerDeviceCreateInfo *link = (VkLayerDeviceCreateInfo *)ci->pNext;
	while (link && !(link->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO &&
			 link->function == VK_LAYER_LINK_INFO))
		link = (VkLayerDeviceCreateInfo *)link->pNext;
	if (!link)
		return VK_ERROR_INITIALIZATION_FAILED;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	pthread_mutex_lock(&lock);
	next_gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
	pthread_mutex_unlock(&lock);
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	const char **names = calloc(ci->enabledExtensionCount + 1, sizeof *names);
	if (!names)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	uint32_t n = 0;
	for (uint32_t k = 0; k < ci->enabledExtensionCount; k++) {
		bool ours = false;
		for (uint32_t j = 0; j < NOFFERED; j++)
			ours |= strcmp(ci->ppEnabledExtensionNames[k], offered[j]) == 0;
		if (!ours)
			names[n++] = ci->ppEnabledExtensionNames[k];
	}
	VkDeviceCreateInfo dci = *ci;
	dci.enabledExtensionCount = n;
	dci.ppEnabledExtensionNames = names;
	pthread_mutex_lock(&lock);
	VkInstance inst = instance;
	pthread_mutex_unlock(&lock);
	VkResult r = ((PFN_vkCreateDevice)gipa(inst, "vkCreateDevice"))(pd, &dci, alloc, out);
	free(names);
	return r;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL offer_GetDeviceProcAddr(VkDevice dev,
									 const char *name) {
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetDeviceProcAddr;
	pthread_mutex_lock(&lock);
	PFN_vkGetDeviceProcAddr gdpa = next_gdpa;
	pthread_mutex_unlock(&lock);
	return gdpa ? gdpa(dev, name) : NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL offer_GetInstanceProcAddr(VkInstance inst,
									   const char *name) {
#define FN(n)                                                                                  \
	if (strcmp(name, "vk" #n) == 0)                                                        \
		return (PFN_vkVoidFunction)n;
	FN(CreateInstance)
	FN(CreateDevice)
	FN(EnumerateDeviceExtensionProperties)
	FN(GetPhysicalDeviceFeatures2)
	FN(GetPhysicalDeviceFeatures2KHR)
	if (strcmp(name, "vkGetInstanceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetInstanceProcAddr;
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)offer_GetDeviceProcAddr;
	(void)inst;
	return next(name);
}

EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *v) {
	if (v->loaderLayerInterfaceVersion < 2)
		return VK_ERROR_INITIALIZATION_FAILED;
	v->loaderLayerInterfaceVersion = 2;
	v->pfnGetInstanceProcAddr = offer_GetInstanceProcAddr;
	v->pfnGetDeviceProcAddr = offer_GetDeviceProcAddr;
	v->pfnGetPhysicalDeviceProcAddr = NULL;
	return VK_SUCCESS;
}
