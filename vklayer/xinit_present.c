/*
 * VK_LAYER_XINIT_present: a swapchain for X windows on any Vulkan driver.
 *
 * Some Vulkan drivers render on a GPU but cannot present to an X server they do not
 * drive: NVIDIA's, under Xvfb or Xorg's dummy driver without /dev/nvidia-modeset,
 * answers some surface queries and fails vkGetPhysicalDeviceSurfacePresentModesKHR and
 * vkCreateSwapchainKHR with VK_ERROR_SURFACE_LOST_KHR. For each Xlib and XCB surface
 * (and physical device) the layer first asks the driver's own surface queries
 * (presented_by). Where they answer, the driver presents: its swapchains, extensions
 * and features pass through untouched, and a device created then gets the driver's
 * entry points. Where they fail (or with XINIT_VK_PRESENT_DRIVER=0), the layer answers
 * the surface queries itself and implements VK_KHR_swapchain over the driver below:
 *
 *   - swapchain images are ordinary VkImages in device memory;
 *   - vkQueuePresentKHR submits, after the app's wait semaphores, a copy of the image
 *     into a host-visible buffer, and hands the image to the swapchain's worker
 *     thread. The copy runs on the presenting queue; with XINIT_VK_PRESENT_XFER=1, on
 *     a queue of the layer's own on a transfer-only family (a copy engine, beside the
 *     app's next frame) where the device has one and the app's queues are all of one
 *     family: the images are then shared (CONCURRENT) by that family and the copy's;
 *   - where the driver imports host memory (VK_EXT_external_memory_host) each image
 *     has a MIT-SHM segment of its own, imported as the memory of its buffer: the
 *     GPU's copy writes the pixels where the X server reads them, and the worker only
 *     waits for the copy and puts the segment on the window; elsewhere (or with
 *     XINIT_VK_PRESENT_IMPORT=0, or when the driver refuses the segment or its
 *     alignment) the worker moves the pixels from a mapped buffer into one segment.
 *     Segments are removed with IPC_RMID before the X server attaches them, so a
 *     killed app leaves nothing behind, even one killed while the X server did not answer; without MIT-SHM the worker sends plain
 *     PutImage requests. FIFO and FIFO_RELAXED show every frame in order;
 *     MAILBOX and IMMEDIATE show the newest frame whose copy has finished, release
 *     older finished ones unshown and never wait on a frame they may drop;
 *   - vkAcquireNextImageKHR hands out an image whose pixels have left it, and signals
 *     the app's semaphore and fence without touching any of the app's queues (acquire
 *     takes no queue, and another thread of the app may be submitting on any of them):
 *     where the driver can import sync files (VK_KHR_external_semaphore_fd and
 *     VK_KHR_external_fence_fd with SYNC_FD handles), it imports an already signalled
 *     one (fd -1) into each, temporarily; elsewhere (Mesa's lavapipe, for one) the fence
 *     is signalled in the layer's books, which vkWaitForFences (in slices of 2 ms,
 *     so that a thread already waiting on the fence wakes), vkGetFenceStatus and
 *     vkResetFences consult, and the semaphore is owed: the layer signals it with an
 *     empty submission on the queue of the first submission, present or sparse bind
 *     that waits on it, inside that call, when the app itself holds that queue;
 *   - a window whose size no longer matches the swapchain makes acquire and present
 *     return VK_SUBOPTIMAL_KHR, as Mesa's X11 swapchains do, and frames go on being
 *     shown, clipped to the window or in its top left corner; capabilities report the
 *     window's current size. A swapchain retired by a newer one is out of date.
 *
 * Unless the driver presents on every X surface asked about, device extensions that
 * act on swapchains or presents in ways the layer does not implement (VK_KHR_present_wait, VK_KHR_present_id, VK_EXT_swapchain_maintenance1,
 * VK_NV_low_latency2 and the others in hidden_exts) are taken out of
 * vkEnumerateDeviceExtensionProperties, their features reported unsupported by
 * vkGetPhysicalDeviceFeatures2, and a vkCreateDevice that asks for them fails with
 * VK_ERROR_EXTENSION_NOT_PRESENT or VK_ERROR_FEATURE_NOT_PRESENT: the driver below
 * would otherwise get the layer's swapchain handles, or present fences and waits
 * nobody signals. VK_KHR_incremental_present stays: its regions are a hint that a
 * presentation engine may ignore, and the layer copies the whole image.
 *
 * One vkQueuePresentKHR may hold swapchains of the layer's and of the driver's (a window
 * the driver presents to beside one it cannot): the layer's are copied, after the app's
 * semaphores, and the driver's presented once that wait is done (present_mixed). Names
 * and tags the app gives the layer's swapchains (VK_EXT_debug_utils, VK_EXT_debug_marker)
 * stop at the layer: below it the handle means nothing, or another object. An image the
 * app binds to a swapchain image (VkImageSwapchainCreateInfoKHR,
 * VkBindImageMemorySwapchainInfoKHR) is made as the layer's images are and bound to the
 * same memory (both with VK_IMAGE_CREATE_ALIAS_BIT where the device has it).
 *
 * Every X request the layer sends is checked, so a destroyed window becomes
 * VK_ERROR_SURFACE_LOST_KHR instead of an X error in the app's event queue.
 *
 * It is an explicit layer: the app gets it through VK_INSTANCE_LAYERS (xinit-go puts
 * it first, above any layer the user asked for), and no other process in the container
 * loads it. Environment of the app:
 *
 *   XINIT_VK_PRESENT_COPY=0    present without copying to the window (to measure)
 *   XINIT_VK_PRESENT_SHM=0     plain PutImage instead of MIT-SHM
 *   XINIT_VK_PRESENT_STATS=1   when a swapchain is destroyed, print its frame count and
 *                              the worker's cost per frame on stderr
 *   XINIT_VK_PRESENT_SYNCFD=0  acquire signals through the layer's books even where the
 *                              driver imports sync files
 *   XINIT_VK_PRESENT_IMPORT=0  copy through a mapped buffer even where the driver imports
 *                              the MIT-SHM segments as host memory
 *   XINIT_VK_PRESENT_DRIVER=0  present by copy even where the driver presents itself
 *   XINIT_VK_PRESENT_XFER=1    copy on a transfer queue of the layer's own where there
 *                              is one (not yet measured), not on the presenting queue
 *
 * Each swapchain's creation prints one line on stderr, so an app's log says that its
 * frames go through this layer.
 *
 * Limits: without sync files, an acquire fence exported with vkGetFenceFdKHR before the
 * app waits on it exports the driver's unsignalled fence; only the first array layer of
 * an image is shown; windows of depth 24 or 32 only.
 */
#define _GNU_SOURCE
#define VK_USE_PLATFORM_XCB_KHR
#define VK_USE_PLATFORM_XLIB_KHR
#include <X11/Xlib-xcb.h>
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>
#include <xcb/shm.h>
#include <xcb/xcb.h>

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#define LAYER_NAME "VK_LAYER_XINIT_present"
#define EXPORT __attribute__((visibility("default")))
#define MAX_QUEUES 64

/* say prints one line on stderr with a single write, so that the line arrives whole
 * however many threads and processes write to the same pipe (a pipe keeps writes of up
 * to PIPE_BUF bytes together; stdio's unbuffered stderr would make three writes). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
	char line[512] = LAYER_NAME ": ";
	size_t n = strlen(line);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

static bool env_is(const char *name, const char *value) {
	const char *v = getenv(name);
	return v && strcmp(v, value) == 0;
}

static bool has_ext(const VkExtensionProperties *e, uint32_t n, const char *name) {
	for (uint32_t k = 0; k < n; k++)
		if (strcmp(e[k].extensionName, name) == 0)
			return true;
	return false;
}

static bool named(const char *const *names, uint32_t n, const char *name) {
	for (uint32_t k = 0; k < n; k++)
		if (strcmp(names[k], name) == 0)
			return true;
	return false;
}

static void *key_of(const void *dispatchable) { return *(void *const *)dispatchable; }

/* ---- dispatch maps: the only shared state, guarded by map_lock ---- */

struct inst {
	struct inst *next;
	void *key;
	VkInstance handle;
	uint32_t api; /* the app's apiVersion */
	/* on Vulkan 1.0, the instance extensions the host import builds on were enabled */
	bool ext_mem_caps;
	PFN_vkGetInstanceProcAddr gipa;
	PFN_vkDestroyInstance DestroyInstance;
	PFN_vkGetPhysicalDeviceProperties GetPhysicalDeviceProperties;
	PFN_vkGetPhysicalDeviceMemoryProperties GetPhysicalDeviceMemoryProperties;
	PFN_vkGetPhysicalDeviceQueueFamilyProperties GetPhysicalDeviceQueueFamilyProperties;
	PFN_vkGetPhysicalDeviceFormatProperties GetPhysicalDeviceFormatProperties;
	PFN_vkEnumerateDeviceExtensionProperties EnumerateDeviceExtensionProperties;
	PFN_vkCreateXcbSurfaceKHR CreateXcbSurfaceKHR;
	PFN_vkCreateXlibSurfaceKHR CreateXlibSurfaceKHR;
	PFN_vkDestroySurfaceKHR DestroySurfaceKHR;
	PFN_vkGetPhysicalDeviceSurfaceSupportKHR GetPhysicalDeviceSurfaceSupportKHR;
	PFN_vkGetPhysicalDeviceSurfaceCapabilitiesKHR GetPhysicalDeviceSurfaceCapabilitiesKHR;
	PFN_vkGetPhysicalDeviceSurfaceCapabilities2KHR GetPhysicalDeviceSurfaceCapabilities2KHR;
	PFN_vkGetPhysicalDeviceSurfaceFormatsKHR GetPhysicalDeviceSurfaceFormatsKHR;
	PFN_vkGetPhysicalDeviceSurfaceFormats2KHR GetPhysicalDeviceSurfaceFormats2KHR;
	PFN_vkGetPhysicalDeviceSurfacePresentModesKHR GetPhysicalDeviceSurfacePresentModesKHR;
	PFN_vkGetPhysicalDevicePresentRectanglesKHR GetPhysicalDevicePresentRectanglesKHR;
	PFN_vkGetPhysicalDeviceExternalSemaphoreProperties GetPhysicalDeviceExternalSemaphoreProperties;
	PFN_vkGetPhysicalDeviceExternalFenceProperties GetPhysicalDeviceExternalFenceProperties;
	PFN_vkGetPhysicalDeviceFeatures2 GetPhysicalDeviceFeatures2;
	PFN_vkGetPhysicalDeviceFeatures2KHR GetPhysicalDeviceFeatures2KHR;
	PFN_vkGetPhysicalDeviceProperties2 GetPhysicalDeviceProperties2;
	PFN_vkGetPhysicalDeviceProperties2KHR GetPhysicalDeviceProperties2KHR;
	PFN_vkGetPhysicalDeviceXcbPresentationSupportKHR GetPhysicalDeviceXcbPresentationSupportKHR;
	PFN_vkGetPhysicalDeviceXlibPresentationSupportKHR GetPhysicalDeviceXlibPresentationSupportKHR;
};

/* a small set of non-dispatchable handles */
struct handles {
	uint64_t *v;
	uint32_t n, cap;
};

static bool handles_add(struct handles *s, uint64_t h) {
	for (uint32_t k = 0; k < s->n; k++)
		if (s->v[k] == h)
			return true;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 8;
		uint64_t *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = h;
	return true;
}

/* handles_take removes h and says whether it was there. */
static bool handles_take(struct handles *s, uint64_t h) {
	for (uint32_t k = 0; k < s->n; k++)
		if (s->v[k] == h) {
			s->v[k] = s->v[--s->n];
			return true;
		}
	return false;
}

static bool handles_has(const struct handles *s, uint64_t h) {
	for (uint32_t k = 0; k < s->n; k++)
		if (s->v[k] == h)
			return true;
	return false;
}

#define H(x) ((uint64_t)(uintptr_t)(x))

/* who presents a surface's swapchains, decided once per surface and physical device */
enum { BY_UNKNOWN, BY_DRIVER, BY_COPY };

struct surf {
	struct surf *next;
	VkSurfaceKHR handle;
	xcb_connection_t *conn;
	xcb_window_t window;
	VkPhysicalDevice pd; /* the physical device that by is for */
	int by;
};

struct dev {
	struct dev *next;
	void *key;
	VkDevice handle;
	VkPhysicalDevice phys;
	struct inst *inst;
	PFN_vkSetDeviceLoaderData set_loader_data;
	/* created when the driver presented every X surface asked about: the layer hands out
	 * the driver's entry points and makes no swapchain of its own (the app may have
	 * enabled extensions that the layer's swapchains do not offer) */
	bool pass;
	VkPhysicalDeviceMemoryProperties mem;
	char gpu_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];

	/* queues the app fetched, to know each one's family */
	pthread_mutex_t queue_lock;
	VkQueue queues[MAX_QUEUES];
	uint32_t families[MAX_QUEUES];
	uint32_t nqueues;

	/* a queue of the layer's own on a transfer-only family, for the present's copy:
	 * it runs beside the app's next frame (see transfer_family) */
	VkQueue xfer;
	uint32_t xfer_family, app_family;

	/* VK_EXT_external_memory_host: the copy writes straight into the MIT-SHM
	 * segments, whose addresses and sizes must be multiples of host_align */
	bool host_import;
	VkDeviceSize host_align;
	PFN_vkGetMemoryHostPointerPropertiesEXT GetMemoryHostPointerPropertiesEXT;

	/* images may alias others (Vulkan 1.1 or VK_KHR_bind_memory2): the swapchain's are
	 * made with VK_IMAGE_CREATE_ALIAS_BIT, for the app's images bound to them */
	bool alias;

	/* how acquire signals (see signal_acquired): sync files, or the books below */
	bool sync_fd;
	PFN_vkImportSemaphoreFdKHR ImportSemaphoreFdKHR;
	PFN_vkImportFenceFdKHR ImportFenceFdKHR;
	pthread_mutex_t books_lock;
	struct handles owed;     /* acquire semaphores not signalled yet */
	struct handles signaled; /* acquire fences signalled for the app, not reset yet */
	uint32_t open;           /* owed.n + signaled.n, read without the lock */
	PFN_vkQueueSubmit2 QueueSubmit2;
	PFN_vkQueueSubmit2KHR QueueSubmit2KHR;

#define DEV_FN(name) PFN_vk##name name;
#define DEV_FNS(X)                                                                    \
	X(GetDeviceProcAddr) X(DestroyDevice) X(GetDeviceQueue) X(GetDeviceQueue2)        \
	X(CreateImage) X(DestroyImage) X(GetImageMemoryRequirements) X(BindImageMemory)   \
	X(CreateBuffer) X(DestroyBuffer) X(GetBufferMemoryRequirements)                   \
	X(BindBufferMemory) X(AllocateMemory) X(FreeMemory) X(MapMemory) X(UnmapMemory)   \
	X(InvalidateMappedMemoryRanges) X(CreateCommandPool) X(DestroyCommandPool)        \
	X(AllocateCommandBuffers) X(BeginCommandBuffer) X(EndCommandBuffer)               \
	X(CmdPipelineBarrier) X(CmdCopyImageToBuffer) X(CreateFence) X(DestroyFence)      \
	X(WaitForFences) X(ResetFences) X(QueueSubmit) X(GetFenceStatus)                 \
	X(DestroySemaphore) X(QueueBindSparse)                                            \
	X(CreateSwapchainKHR) X(DestroySwapchainKHR) X(GetSwapchainImagesKHR)             \
	X(AcquireNextImageKHR) X(AcquireNextImage2KHR) X(QueuePresentKHR)                 \
	X(GetDeviceGroupPresentCapabilitiesKHR) X(GetDeviceGroupSurfacePresentModesKHR)        \
	X(SetDebugUtilsObjectNameEXT) X(SetDebugUtilsObjectTagEXT)                        \
	X(DebugMarkerSetObjectNameEXT) X(DebugMarkerSetObjectTagEXT)                      \
	X(BindImageMemory2) X(BindImageMemory2KHR)
	DEV_FNS(DEV_FN)
};

enum { IMG_FREE, IMG_ACQUIRED, IMG_QUEUED };

struct image {
	VkImage image;
	VkDeviceMemory memory;
	VkBuffer buffer; /* host-visible copy of the presented pixels */
	VkDeviceMemory buffer_memory;
	void *pixels; /* the buffer mapped; NULL when it is the image's segment */
	/* with the host import, the image's own MIT-SHM segment is the buffer's memory */
	xcb_shm_seg_t seg;
	void *shm_addr;
	bool coherent;
	VkCommandBuffer copy; /* recorded once for the swapchain's command pool */
	VkFence fence;        /* signalled when the presented image has been copied */
	int state;
};

struct swapchain {
	struct swapchain *next;
	struct dev *dev;
	xcb_connection_t *conn;
	xcb_window_t window;
	xcb_gcontext_t gc;
	uint8_t depth;
	VkExtent2D extent;
	VkPresentModeKHR mode;
	uint32_t count;
	struct image *images;
	size_t frame_bytes;
	bool copy; /* to the window: false only to measure */

	bool shm; /* one segment: the worker shows one frame at a time */
	xcb_shm_seg_t seg;
	void *shm_addr;
	/* a segment per image, imported as the memory of its buffer: the GPU's copy lands
	 * where the X server reads, and the worker copies nothing */
	bool direct;

	VkCommandPool pool;
	uint32_t pool_family;

	/* the app's allocator at vkCreateSwapchainKHR (NULL for none): every object the
	 * swapchain makes, the copy's command pool included, is made and destroyed with it */
	const VkAllocationCallbacks *alloc;
	VkAllocationCallbacks alloc_copy;

	/* how its images were made: an image of the app's bound to one of them
	 * (VkImageSwapchainCreateInfoKHR) is made the same way */
	VkSwapchainCreateInfoKHR info;
	uint32_t *families;
	VkImageFormatListCreateInfo list;
	VkFormat *formats;

	pthread_t worker;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t work, freed;
	uint32_t *fifo; /* presented image indices, oldest first */
	uint32_t fifo_len;
	bool stop, retired;
	VkResult status; /* of the last frame shown: VK_SUCCESS, VK_SUBOPTIMAL_KHR (the window's
			    size differs), or VK_ERROR_SURFACE_LOST_KHR, which stays */
	uint64_t shown, dropped;
	struct timespec first, last; /* when the first and the last shown frame were put */
	double copy_ms, put_ms; /* the worker's memcpy and X put + round trip, summed */
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct inst *insts;
static struct surf *surfs;
static struct dev *devs;
static struct swapchain *swapchains;

static struct inst *inst_find(void *key) {
	pthread_mutex_lock(&map_lock);
	struct inst *i = insts;
	while (i && i->key != key)
		i = i->next;
	pthread_mutex_unlock(&map_lock);
	return i;
}

static struct dev *dev_find(void *key) {
	pthread_mutex_lock(&map_lock);
	struct dev *d = devs;
	while (d && d->key != key)
		d = d->next;
	pthread_mutex_unlock(&map_lock);
	return d;
}

static bool surf_find(VkSurfaceKHR h, struct surf *out) {
	pthread_mutex_lock(&map_lock);
	struct surf *s = surfs;
	while (s && s->handle != h)
		s = s->next;
	if (s)
		*out = *s;
	pthread_mutex_unlock(&map_lock);
	return s != NULL;
}

static struct swapchain *sc_find(VkSwapchainKHR h) {
	pthread_mutex_lock(&map_lock);
	struct swapchain *s = swapchains;
	while (s && (VkSwapchainKHR)(uintptr_t)s != h)
		s = s->next;
	pthread_mutex_unlock(&map_lock);
	return s;
}

/* unlink removes p from the list whose head is *head (each node starts with next). */
static void unlink_node(void *head, void *p) {
	pthread_mutex_lock(&map_lock);
	for (void **pp = head; *pp; pp = (void **)*pp) {
		if (*pp == p) {
			*pp = *(void **)p;
			break;
		}
	}
	pthread_mutex_unlock(&map_lock);
}

static void push_node(void *head, void *p) {
	pthread_mutex_lock(&map_lock);
	*(void **)p = *(void **)head;
	*(void **)head = p;
	pthread_mutex_unlock(&map_lock);
}

/* ---- the X side ---- */

/* window_size asks the X server for the window's size and depth: false when it is gone. */
static bool window_size(xcb_connection_t *c, xcb_window_t w, VkExtent2D *ext, uint8_t *depth) {
	xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(c, xcb_get_geometry(c, w), NULL);
	if (!g)
		return false;
	ext->width = g->width;
	ext->height = g->height;
	if (depth)
		*depth = g->depth;
	free(g);
	return true;
}

static bool shm_usable(xcb_connection_t *c) {
	if (env_is("XINIT_VK_PRESENT_SHM", "0"))
		return false;
	const xcb_query_extension_reply_t *ext = xcb_get_extension_data(c, &xcb_shm_id);
	return ext && ext->present;
}

/* shm_open_segment makes one segment of size bytes that the X server has attached.
 * Its id is removed before the X server is asked to attach it (Linux lets a process
 * attach a removed segment while another still has it): it lives only as long as both
 * mappings do, and an app killed while the X server has not answered (stalled, or
 * grabbed by another client) leaves nothing behind. */
static bool shm_open_segment(xcb_connection_t *c, size_t size, xcb_shm_seg_t *seg_out,
			     void **addr_out) {
	int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	if (id < 0)
		return false;
	void *addr = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	if (addr == (void *)-1)
		return false;
	xcb_shm_seg_t seg = xcb_generate_id(c);
	xcb_generic_error_t *err = xcb_request_check(c, xcb_shm_attach_checked(c, seg, id, 1));
	if (err) { /* e.g. an X server in another IPC namespace */
		free(err);
		shmdt(addr);
		return false;
	}
	*seg_out = seg;
	*addr_out = addr;
	return true;
}

static double ms_since(const struct timespec *t0) {
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* put_frame shows one image's pixels on the window and waits until the X server has
 * taken them. Returns the swapchain's new status. Runs on the worker only. */
static VkResult put_frame(struct swapchain *sc, struct image *img, bool *image_released) {
	struct dev *d = sc->dev;
	xcb_connection_t *c = sc->conn;
	uint32_t w = sc->extent.width, h = sc->extent.height, stride = w * 4;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!img->coherent) {
		VkMappedMemoryRange r = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, img->buffer_memory,
					 0, VK_WHOLE_SIZE};
		d->InvalidateMappedMemoryRanges(d->handle, 1, &r);
	}
	xcb_void_cookie_t one, *cookies = &one;
	uint32_t n = 0;
	if (sc->direct) { /* the pixels are in the image's segment already */
		cookies[n++] = xcb_shm_put_image_checked(c, sc->window, sc->gc, w, h, 0, 0, w, h, 0, 0,
							 sc->depth, XCB_IMAGE_FORMAT_Z_PIXMAP, 0,
							 img->seg, 0);
	} else if (sc->shm) {
		memcpy(sc->shm_addr, img->pixels, sc->frame_bytes);
		/* the pixels have left the image: the app may render into it again */
		pthread_mutex_lock(&sc->lock);
		img->state = IMG_FREE;
		pthread_cond_broadcast(&sc->freed);
		pthread_mutex_unlock(&sc->lock);
		*image_released = true;
		sc->copy_ms += ms_since(&t0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cookies[n++] = xcb_shm_put_image_checked(c, sc->window, sc->gc, w, h, 0, 0, w, h, 0, 0,
							 sc->depth, XCB_IMAGE_FORMAT_Z_PIXMAP, 0,
							 sc->seg, 0);
	} else {
		/* bands of rows that each fit in one request, however many that takes */
		uint32_t max_bytes = xcb_get_maximum_request_length(c) * 4 - 64;
		uint32_t rows = max_bytes / stride;
		if (rows == 0)
			rows = 1;
		cookies = malloc((h + rows - 1) / rows * sizeof *cookies);
		if (!cookies) { /* this frame is not shown */
			sc->put_ms += ms_since(&t0);
			return VK_SUCCESS;
		}
		for (uint32_t y = 0; y < h; y += rows) {
			uint32_t band = h - y < rows ? h - y : rows;
			cookies[n++] = xcb_put_image_checked(
			    c, XCB_IMAGE_FORMAT_Z_PIXMAP, sc->window, sc->gc, w, band, 0, y, 0,
			    sc->depth, band * stride, (const uint8_t *)img->pixels + (size_t)y * stride);
		}
	}
	VkExtent2D now;
	VkResult status = VK_SUCCESS;
	if (!window_size(c, sc->window, &now, NULL))
		status = VK_ERROR_SURFACE_LOST_KHR;
	else if (now.width != w || now.height != h)
		status = VK_SUBOPTIMAL_KHR;
	for (uint32_t i = 0; i < n; i++) {
		xcb_generic_error_t *err = xcb_request_check(c, cookies[i]);
		if (err) {
			if (status >= 0)
				status = VK_ERROR_SURFACE_LOST_KHR;
			free(err);
		}
	}
	if (cookies != &one)
		free(cookies);
	sc->put_ms += ms_since(&t0);
	return status;
}

/* fifo_remove takes image idx out of the queue of presented images. Lock held. */
static void fifo_remove(struct swapchain *sc, uint32_t idx) {
	for (uint32_t k = 0; k < sc->fifo_len; k++)
		if (sc->fifo[k] == idx) {
			memmove(sc->fifo + k, sc->fifo + k + 1,
				(sc->fifo_len - k - 1) * sizeof *sc->fifo);
			sc->fifo_len--;
			return;
		}
}

/* newest_ready picks the frame MAILBOX and IMMEDIATE show: the newest queued one whose
 * copy has finished. Older finished ones are released unshown; an older one still being
 * copied stays queued, its fence never waited on: it is shown only if it is the newest
 * finished one when it finishes. With no copy finished it waits up to 2 ms on the newest
 * queued one's and returns -1, to look again at what has been queued meanwhile. Called
 * and returns with the lock held. */
static int64_t newest_ready(struct swapchain *sc) {
	struct dev *d = sc->dev;
	uint32_t n = sc->fifo_len, idx[n];
	memcpy(idx, sc->fifo, n * sizeof *idx);
	pthread_mutex_unlock(&sc->lock);
	bool ready[n];
	int64_t newest = -1;
	for (uint32_t k = 0; k < n; k++) {
		ready[k] = d->GetFenceStatus(d->handle, sc->images[idx[k]].fence) == VK_SUCCESS;
		if (ready[k])
			newest = k;
	}
	if (newest < 0) {
		d->WaitForFences(d->handle, 1, &sc->images[idx[n - 1]].fence, VK_TRUE, 2000000);
		pthread_mutex_lock(&sc->lock);
		return -1;
	}
	VkFence done[n];
	uint32_t ndone = 0;
	for (int64_t k = 0; k <= newest; k++)
		if (ready[k])
			done[ndone++] = sc->images[idx[k]].fence;
	d->ResetFences(d->handle, ndone, done);
	pthread_mutex_lock(&sc->lock);
	for (int64_t k = 0; k < newest; k++)
		if (ready[k]) {
			fifo_remove(sc, idx[k]);
			sc->images[idx[k]].state = IMG_FREE;
			sc->dropped++;
		}
	if (ndone > 1)
		pthread_cond_broadcast(&sc->freed);
	fifo_remove(sc, idx[newest]);
	return idx[newest];
}

static void *worker_main(void *arg) {
	struct swapchain *sc = arg;
	struct dev *d = sc->dev;
	pthread_mutex_lock(&sc->lock);
	for (;;) {
		while (sc->fifo_len == 0 && !sc->stop)
			pthread_cond_wait(&sc->work, &sc->lock);
		if (sc->fifo_len == 0)
			break;
		uint32_t idx;
		if (!sc->stop && (sc->mode == VK_PRESENT_MODE_MAILBOX_KHR ||
				  sc->mode == VK_PRESENT_MODE_IMMEDIATE_KHR)) {
			int64_t k = newest_ready(sc);
			if (k < 0)
				continue;
			idx = (uint32_t)k;
		} else { /* FIFO shows every frame, in order; stopping shows none */
			idx = sc->fifo[0];
			fifo_remove(sc, idx);
			pthread_mutex_unlock(&sc->lock);
			d->WaitForFences(d->handle, 1, &sc->images[idx].fence, VK_TRUE, UINT64_MAX);
			d->ResetFences(d->handle, 1, &sc->images[idx].fence);
			pthread_mutex_lock(&sc->lock);
		}
		bool show = sc->copy && !sc->stop && sc->status >= 0;
		pthread_mutex_unlock(&sc->lock);

		struct image *img = &sc->images[idx];
		bool released = false;
		VkResult status = VK_SUCCESS;
		if (show)
			status = put_frame(sc, img, &released);

		pthread_mutex_lock(&sc->lock);
		if (show) {
			clock_gettime(CLOCK_MONOTONIC, &sc->last);
			if (sc->shown++ == 0)
				sc->first = sc->last;
		}
		else
			sc->dropped++;
		if (show && sc->status >= 0)
			sc->status = status;
		if (!released) {
			img->state = IMG_FREE;
			pthread_cond_broadcast(&sc->freed);
		}
	}
	pthread_mutex_unlock(&sc->lock);
	return NULL;
}

/* ---- instance level ---- */

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
	VkLayerInstanceLink *below = link->u.pLayerInfo;
	PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
	/* a Vulkan 1.0 app's instance gets what the host import builds on, where offered */
	uint32_t api = ci->pApplicationInfo ? ci->pApplicationInfo->apiVersion : VK_API_VERSION_1_0;
	static const char *const caps[] = {"VK_KHR_get_physical_device_properties2",
					   "VK_KHR_external_memory_capabilities"};
	const char **names = NULL;
	uint32_t nnames = ci->enabledExtensionCount;
	if (api < VK_API_VERSION_1_1 && !env_is("XINIT_VK_PRESENT_IMPORT", "0") &&
	    (names = calloc(nnames + 2, sizeof *names))) {
		memcpy(names, ci->ppEnabledExtensionNames, nnames * sizeof *names);
		for (uint32_t k = 0; k < 2; k++)
			if (!named(names, nnames, caps[k]))
				names[nnames++] = caps[k];
	}
	VkInstanceCreateInfo ici = *ci;
	if (names) {
		ici.enabledExtensionCount = nnames;
		ici.ppEnabledExtensionNames = names;
	}
	VkResult r = create(&ici, alloc, out);
	bool caps_on = names != NULL && r == VK_SUCCESS;
	if (r == VK_ERROR_EXTENSION_NOT_PRESENT && names) { /* not offered: as the app asked */
		link->u.pLayerInfo = below;
		r = create(ci, alloc, out);
	}
	free(names);
	if (r != VK_SUCCESS)
		return r;
	struct inst *i = calloc(1, sizeof *i);
	if (!i)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	i->key = key_of(*out);
	i->handle = *out;
	i->gipa = gipa;
	i->api = api;
	i->ext_mem_caps = caps_on || api >= VK_API_VERSION_1_1;
#define INST_FN(name) i->name = (PFN_vk##name)gipa(*out, "vk" #name);
	INST_FN(DestroyInstance)
	INST_FN(GetPhysicalDeviceProperties)
	INST_FN(GetPhysicalDeviceMemoryProperties)
	INST_FN(GetPhysicalDeviceQueueFamilyProperties)
	INST_FN(GetPhysicalDeviceFormatProperties)
	INST_FN(EnumerateDeviceExtensionProperties)
	INST_FN(CreateXcbSurfaceKHR)
	INST_FN(CreateXlibSurfaceKHR)
	INST_FN(DestroySurfaceKHR)
	INST_FN(GetPhysicalDeviceSurfaceSupportKHR)
	INST_FN(GetPhysicalDeviceSurfaceCapabilitiesKHR)
	INST_FN(GetPhysicalDeviceSurfaceCapabilities2KHR)
	INST_FN(GetPhysicalDeviceSurfaceFormatsKHR)
	INST_FN(GetPhysicalDeviceSurfaceFormats2KHR)
	INST_FN(GetPhysicalDeviceSurfacePresentModesKHR)
	INST_FN(GetPhysicalDevicePresentRectanglesKHR)
	INST_FN(GetPhysicalDeviceFeatures2KHR)
	INST_FN(GetPhysicalDeviceXcbPresentationSupportKHR)
	INST_FN(GetPhysicalDeviceXlibPresentationSupportKHR)
	INST_FN(GetPhysicalDeviceProperties2KHR)
	if (VK_API_VERSION_MINOR(i->api) >= 1 || VK_API_VERSION_MAJOR(i->api) > 1) {
		INST_FN(GetPhysicalDeviceExternalSemaphoreProperties)
		INST_FN(GetPhysicalDeviceExternalFenceProperties)
		INST_FN(GetPhysicalDeviceFeatures2)
		INST_FN(GetPhysicalDeviceProperties2)
	}
	push_node(&insts, i);
	return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL DestroyInstance(VkInstance instance,
						  const VkAllocationCallbacks *alloc) {
	struct inst *i = inst_find(key_of(instance));
	if (!i)
		return;
	unlink_node(&insts, i);
	i->DestroyInstance(instance, alloc);
	free(i);
}

static VkResult add_surface(VkResult r, VkSurfaceKHR *out, xcb_connection_t *c, xcb_window_t w) {
	if (r != VK_SUCCESS)
		return r;
	struct surf *s = calloc(1, sizeof *s);
	if (!s)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	s->handle = *out;
	s->conn = c;
	s->window = w;
	push_node(&surfs, s);
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateXcbSurfaceKHR(VkInstance instance,
							  const VkXcbSurfaceCreateInfoKHR *ci,
							  const VkAllocationCallbacks *alloc,
							  VkSurfaceKHR *out) {
	struct inst *i = inst_find(key_of(instance));
	return add_surface(i->CreateXcbSurfaceKHR(instance, ci, alloc, out), out, ci->connection,
			   ci->window);
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateXlibSurfaceKHR(VkInstance instance,
							   const VkXlibSurfaceCreateInfoKHR *ci,
							   const VkAllocationCallbacks *alloc,
							   VkSurfaceKHR *out) {
	struct inst *i = inst_find(key_of(instance));
	return add_surface(i->CreateXlibSurfaceKHR(instance, ci, alloc, out), out,
			   XGetXCBConnection(ci->dpy), (xcb_window_t)ci->window);
}

static VKAPI_ATTR void VKAPI_CALL DestroySurfaceKHR(VkInstance instance, VkSurfaceKHR surface,
						    const VkAllocationCallbacks *alloc) {
	struct inst *i = inst_find(key_of(instance));
	pthread_mutex_lock(&map_lock);
	struct surf *s = surfs;
	while (s && s->handle != surface)
		s = s->next;
	pthread_mutex_unlock(&map_lock);
	if (s) {
		unlink_node(&surfs, s);
		free(s);
	}
	i->DestroySurfaceKHR(instance, surface, alloc);
}

/* can_copy says whether queue family can run the present's copy (an image to buffer
 * copy: graphics and compute queues can, as transfer queues do) */
static bool can_copy(VkPhysicalDevice pd, uint32_t family) {
	struct inst *i = inst_find(key_of(pd));
	uint32_t n = 0;
	i->GetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	if (family >= n)
		return false;
	VkQueueFamilyProperties *f = calloc(n, sizeof *f);
	if (!f)
		return false;
	i->GetPhysicalDeviceQueueFamilyProperties(pd, &n, f);
	bool ok = family < n && (f[family].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT |
							  VK_QUEUE_TRANSFER_BIT));
	free(f);
	return ok;
}

static const char *result_name(VkResult r) {
	switch (r) {
	case VK_SUCCESS:
		return "VK_SUCCESS";
	case VK_ERROR_SURFACE_LOST_KHR:
		return "VK_ERROR_SURFACE_LOST_KHR";
	case VK_ERROR_INITIALIZATION_FAILED:
		return "VK_ERROR_INITIALIZATION_FAILED";
	case VK_ERROR_OUT_OF_HOST_MEMORY:
		return "VK_ERROR_OUT_OF_HOST_MEMORY";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY:
		return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
	case VK_ERROR_NATIVE_WINDOW_IN_USE_KHR:
		return "VK_ERROR_NATIVE_WINDOW_IN_USE_KHR";
	case VK_ERROR_INVALID_EXTERNAL_HANDLE:
		return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
	case VK_ERROR_FORMAT_NOT_SUPPORTED:
		return "no host-coherent memory type for it";
	default:
		return "an error";
	}
}

/* what a container without /dev/nvidia-modeset lacks, and what to set */
#define NVIDIA_NO_MODESET                                                                      \
	" (the container lacks the display driver capability: NVIDIA_DRIVER_CAPABILITIES must "   \
	"include display)"

static void set_by(VkSurfaceKHR surface, VkPhysicalDevice pd, int by) {
	pthread_mutex_lock(&map_lock);
	for (struct surf *s = surfs; s; s = s->next)
		if (s->handle == surface) {
			s->pd = pd;
			s->by = by;
		}
	pthread_mutex_unlock(&map_lock);
}

/* presented_by decides who presents an X surface's swapchains on pd: the driver, when
 * its own surface queries answer (present modes and capabilities, and present support
 * on a queue family), or the layer by copy, when they fail (NVIDIA's answers
 * VK_ERROR_SURFACE_LOST_KHR on an X server it does not drive) or when
 * XINIT_VK_PRESENT_DRIVER=0. Asked once per surface and physical device; says which on
 * stderr. */
static int presented_by(VkPhysicalDevice pd, const struct surf *s) {
	if (s->by != BY_UNKNOWN && s->pd == pd)
		return s->by;
	struct inst *i = inst_find(key_of(pd));
	VkPhysicalDeviceProperties props;
	i->GetPhysicalDeviceProperties(pd, &props);
	int by = BY_COPY;
	char why[160] = "";
	bool forced = env_is("XINIT_VK_PRESENT_DRIVER", "0");
	/* NVIDIA's driver presents on an X server it does not drive only through
	 * /dev/nvidia-modeset; without it its surface queries are not asked at all (on an
	 * H200, under an Xvfb without GLX, they crashed the app) */
	bool no_modeset = props.vendorID == 0x10de && access("/dev/nvidia-modeset", F_OK) != 0;
	if (no_modeset && !forced)
		snprintf(why, sizeof why, "NVIDIA's driver presents on X only with /dev/nvidia-modeset, "
					  "which is missing");
	if (!forced && !no_modeset) {
		uint32_t n = 0;
		VkSurfaceCapabilitiesKHR caps;
		VkResult r = i->GetPhysicalDeviceSurfaceCapabilitiesKHR(pd, s->handle, &caps);
		const char *what = "vkGetPhysicalDeviceSurfaceCapabilitiesKHR";
		if (r == VK_SUCCESS) {
			r = i->GetPhysicalDeviceSurfacePresentModesKHR(pd, s->handle, &n, NULL);
			what = "vkGetPhysicalDeviceSurfacePresentModesKHR";
		}
		VkBool32 any = VK_FALSE;
		uint32_t nf = 0;
		i->GetPhysicalDeviceQueueFamilyProperties(pd, &nf, NULL);
		for (uint32_t k = 0; r == VK_SUCCESS && k < nf && !any; k++)
			if (i->GetPhysicalDeviceSurfaceSupportKHR(pd, k, s->handle, &any) != VK_SUCCESS)
				any = VK_FALSE;
		if (r != VK_SUCCESS)
			snprintf(why, sizeof why, "its %s says %s", what, result_name(r));
		else if (n == 0)
			snprintf(why, sizeof why, "it offers no present mode");
		else if (!any)
			snprintf(why, sizeof why, "it presents from no queue family");
		else
			by = BY_DRIVER;
	}
	set_by(s->handle, pd, by);
	if (by == BY_DRIVER)
		say("X window 0x%x: %s presents to it by itself: its swapchains pass through the "
		    "layer untouched",
		    s->window, props.deviceName);
	else if (forced)
		say("X window 0x%x: XINIT_VK_PRESENT_DRIVER=0: its swapchains are presented by copy, "
		    "whatever %s can do",
		    s->window, props.deviceName);
	else
		say("X window 0x%x: %s cannot present to it (%s%s): its swapchains are presented by "
		    "copy",
		    s->window, props.deviceName, why, no_modeset ? NVIDIA_NO_MODESET : "");
	return by;
}

/* copied says whether the layer presents surface's swapchains on pd, and fills *s. */
static bool copied(VkPhysicalDevice pd, VkSurfaceKHR surface, struct surf *s) {
	return surf_find(surface, s) && presented_by(pd, s) == BY_COPY;
}

/* pd_passes says whether every X surface the app has asked about on pd so far, and at
 * least one, is presented by the driver: a device created then is left to the driver. */
static bool pd_passes(VkPhysicalDevice pd) {
	bool some = false, all = true;
	pthread_mutex_lock(&map_lock);
	for (struct surf *s = surfs; s; s = s->next)
		if (s->pd == pd && s->by != BY_UNKNOWN) {
			some = true;
			all &= s->by == BY_DRIVER;
		}
	pthread_mutex_unlock(&map_lock);
	return some && all;
}

/* Without a surface, support is the driver's or the copy's: either may present there. */
static VKAPI_ATTR VkBool32 VKAPI_CALL GetPhysicalDeviceXcbPresentationSupportKHR(
    VkPhysicalDevice pd, uint32_t family, xcb_connection_t *c, xcb_visualid_t visual) {
	struct inst *i = inst_find(key_of(pd));
	bool driver = !env_is("XINIT_VK_PRESENT_DRIVER", "0") &&
		      i->GetPhysicalDeviceXcbPresentationSupportKHR &&
		      i->GetPhysicalDeviceXcbPresentationSupportKHR(pd, family, c, visual);
	return driver || can_copy(pd, family);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL GetPhysicalDeviceXlibPresentationSupportKHR(
    VkPhysicalDevice pd, uint32_t family, Display *dpy, VisualID visual) {
	struct inst *i = inst_find(key_of(pd));
	bool driver = !env_is("XINIT_VK_PRESENT_DRIVER", "0") &&
		      i->GetPhysicalDeviceXlibPresentationSupportKHR &&
		      i->GetPhysicalDeviceXlibPresentationSupportKHR(pd, family, dpy, visual);
	return driver || can_copy(pd, family);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceSupportKHR(VkPhysicalDevice pd,
									 uint32_t family,
									 VkSurfaceKHR surface,
									 VkBool32 *supported) {
	struct surf s;
	if (!copied(pd, surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfaceSupportKHR(pd, family, surface,
										  supported);
	VkExtent2D ext;
	uint8_t depth = 0;
	if (!window_size(s.conn, s.window, &ext, &depth))
		return VK_ERROR_SURFACE_LOST_KHR;
	*supported = (depth == 24 || depth == 32) && can_copy(pd, family);
	return VK_SUCCESS;
}

static VkResult surface_caps(VkPhysicalDevice pd, const struct surf *s,
			     VkSurfaceCapabilitiesKHR *caps) {
	VkExtent2D ext;
	uint8_t depth;
	if (!window_size(s->conn, s->window, &ext, &depth))
		return VK_ERROR_SURFACE_LOST_KHR;
	*caps = (VkSurfaceCapabilitiesKHR){
	    .minImageCount = 2,
	    .maxImageCount = 8,
	    .currentExtent = ext,
	    .minImageExtent = ext,
	    .maxImageExtent = ext,
	    .maxImageArrayLayers = 1,
	    .supportedTransforms = VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR,
	    .currentTransform = VK_SURFACE_TRANSFORM_IDENTITY_BIT_KHR,
	    .supportedCompositeAlpha =
		VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR | VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR,
	    .supportedUsageFlags =
		VK_IMAGE_USAGE_TRANSFER_SRC_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT |
		VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
		VK_IMAGE_USAGE_INPUT_ATTACHMENT_BIT,
	};
	/* storage where the device can write the swapchain's UNORM format from shaders
	 * (the sRGB one takes it through VK_SWAPCHAIN_CREATE_MUTABLE_FORMAT_BIT_KHR) */
	VkFormatProperties fp;
	inst_find(key_of(pd))->GetPhysicalDeviceFormatProperties(pd, VK_FORMAT_B8G8R8A8_UNORM, &fp);
	if (fp.optimalTilingFeatures & VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT)
		caps->supportedUsageFlags |= VK_IMAGE_USAGE_STORAGE_BIT;
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceCapabilitiesKHR(
    VkPhysicalDevice pd, VkSurfaceKHR surface, VkSurfaceCapabilitiesKHR *caps) {
	struct surf s;
	if (!copied(pd, surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfaceCapabilitiesKHR(pd, surface,
										       caps);
	return surface_caps(pd, &s, caps);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceCapabilities2KHR(
    VkPhysicalDevice pd, const VkPhysicalDeviceSurfaceInfo2KHR *info,
    VkSurfaceCapabilities2KHR *caps) {
	struct surf s;
	if (!copied(pd, info->surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfaceCapabilities2KHR(pd, info,
											caps);
	for (VkBaseOutStructure *o = caps->pNext; o; o = o->pNext) {
		if (o->sType == VK_STRUCTURE_TYPE_SURFACE_PROTECTED_CAPABILITIES_KHR)
			((VkSurfaceProtectedCapabilitiesKHR *)o)->supportsProtected = VK_FALSE;
		else if (o->sType == VK_STRUCTURE_TYPE_SHARED_PRESENT_SURFACE_CAPABILITIES_KHR)
			((VkSharedPresentSurfaceCapabilitiesKHR *)o)->sharedPresentSupportedUsageFlags = 0;
	}
	return surface_caps(pd, &s, &caps->surfaceCapabilities);
}

static const VkSurfaceFormatKHR formats[] = {
    {VK_FORMAT_B8G8R8A8_SRGB, VK_COLOR_SPACE_SRGB_NONLINEAR_KHR},
    {VK_FORMAT_B8G8R8A8_UNORM, VK_COLOR_SPACE_SRGB_NONLINEAR_KHR},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static VkResult fill_count(uint32_t *count, uint32_t have) {
	if (*count < have)
		return VK_INCOMPLETE;
	*count = have;
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceFormatsKHR(
    VkPhysicalDevice pd, VkSurfaceKHR surface, uint32_t *count, VkSurfaceFormatKHR *out) {
	struct surf s;
	if (!copied(pd, surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfaceFormatsKHR(pd, surface, count,
										  out);
	if (!out) {
		*count = NFORMATS;
		return VK_SUCCESS;
	}
	uint32_t n = *count < NFORMATS ? *count : NFORMATS;
	memcpy(out, formats, n * sizeof *out);
	VkResult r = fill_count(count, NFORMATS);
	*count = n;
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfaceFormats2KHR(
    VkPhysicalDevice pd, const VkPhysicalDeviceSurfaceInfo2KHR *info, uint32_t *count,
    VkSurfaceFormat2KHR *out) {
	struct surf s;
	if (!copied(pd, info->surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfaceFormats2KHR(pd, info, count,
										   out);
	if (!out) {
		*count = NFORMATS;
		return VK_SUCCESS;
	}
	uint32_t n = *count < NFORMATS ? *count : NFORMATS;
	for (uint32_t k = 0; k < n; k++)
		out[k].surfaceFormat = formats[k];
	VkResult r = fill_count(count, NFORMATS);
	*count = n;
	return r;
}

static const VkPresentModeKHR modes[] = {VK_PRESENT_MODE_FIFO_KHR, VK_PRESENT_MODE_FIFO_RELAXED_KHR,
					 VK_PRESENT_MODE_MAILBOX_KHR,
					 VK_PRESENT_MODE_IMMEDIATE_KHR};
#define NMODES (sizeof modes / sizeof modes[0])

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDeviceSurfacePresentModesKHR(
    VkPhysicalDevice pd, VkSurfaceKHR surface, uint32_t *count, VkPresentModeKHR *out) {
	struct surf s;
	if (!copied(pd, surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDeviceSurfacePresentModesKHR(pd, surface,
										       count, out);
	if (!out) {
		*count = NMODES;
		return VK_SUCCESS;
	}
	uint32_t n = *count < NMODES ? *count : NMODES;
	memcpy(out, modes, n * sizeof *out);
	VkResult r = fill_count(count, NMODES);
	*count = n;
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetPhysicalDevicePresentRectanglesKHR(VkPhysicalDevice pd,
									     VkSurfaceKHR surface,
									     uint32_t *count,
									     VkRect2D *rects) {
	struct surf s;
	if (!copied(pd, surface, &s))
		return inst_find(key_of(pd))->GetPhysicalDevicePresentRectanglesKHR(pd, surface,
										     count, rects);
	if (!rects) {
		*count = 1;
		return VK_SUCCESS;
	}
	if (*count < 1)
		return VK_INCOMPLETE;
	VkExtent2D ext;
	if (!window_size(s.conn, s.window, &ext, NULL))
		return VK_ERROR_SURFACE_LOST_KHR;
	rects[0] = (VkRect2D){{0, 0}, ext};
	*count = 1;
	return VK_SUCCESS;
}

/* device_exts lists the extensions the layers below and the driver offer on pd. */
static VkExtensionProperties *device_exts(struct inst *i, VkPhysicalDevice pd, uint32_t *n) {
	*n = 0;
	if (i->EnumerateDeviceExtensionProperties(pd, NULL, n, NULL) != VK_SUCCESS)
		return NULL;
	VkExtensionProperties *e = calloc(*n ? *n : 1, sizeof *e);
	if (e && i->EnumerateDeviceExtensionProperties(pd, NULL, n, e) < 0)
		*n = 0;
	return e;
}

/* ---- what the layer hides ---- */

/* device extensions that take the layer's swapchain handles, or chain structures into
 * present and swapchain calls, for work the layer does not do */
static const char *const hidden_exts[] = {
    "VK_KHR_present_wait",	     "VK_KHR_present_wait2",
    "VK_KHR_present_id",	     "VK_KHR_present_id2",
    "VK_EXT_swapchain_maintenance1",  "VK_KHR_swapchain_maintenance1",
    "VK_NV_low_latency2",	     "VK_EXT_full_screen_exclusive",
    "VK_GOOGLE_display_timing",	     "VK_KHR_shared_presentable_image",
    "VK_EXT_hdr_metadata",	     "VK_AMD_display_native_hdr",
    "VK_EXT_display_control",	     "VK_EXT_present_timing",
    "VK_NV_present_barrier",	     "VK_EXT_present_mode_fifo_latest_ready",
    "VK_KHR_present_mode_fifo_latest_ready",
};
#define NHIDDEN (sizeof hidden_exts / sizeof hidden_exts[0])

/* their feature structures: sType and how many VkBool32s follow pNext */
static const struct {
	VkStructureType type;
	uint32_t bools;
} hidden_features[] = {
    {1000248000, 1}, /* PHYSICAL_DEVICE_PRESENT_WAIT_FEATURES_KHR */
    {1000480001, 1}, /* PHYSICAL_DEVICE_PRESENT_WAIT_2_FEATURES_KHR */
    {1000294001, 1}, /* PHYSICAL_DEVICE_PRESENT_ID_FEATURES_KHR */
    {1000479002, 1}, /* PHYSICAL_DEVICE_PRESENT_ID_2_FEATURES_KHR */
    {1000275000, 1}, /* PHYSICAL_DEVICE_SWAPCHAIN_MAINTENANCE_1_FEATURES_{EXT,KHR} */
    {1000292000, 1}, /* PHYSICAL_DEVICE_PRESENT_BARRIER_FEATURES_NV */
    {1000361000, 1}, /* PHYSICAL_DEVICE_PRESENT_MODE_FIFO_LATEST_READY_FEATURES_{EXT,KHR} */
    {1000208000, 3}, /* PHYSICAL_DEVICE_PRESENT_TIMING_FEATURES_EXT */
};

static bool is_hidden_ext(const char *name) {
	for (size_t k = 0; k < NHIDDEN; k++)
		if (strcmp(name, hidden_exts[k]) == 0)
			return true;
	return false;
}

/* hidden_bools returns the feature booleans of a hidden feature structure, else NULL */
static VkBool32 *hidden_bools(const void *p, uint32_t *n) {
	const VkBaseInStructure *b = p;
	for (size_t k = 0; k < sizeof hidden_features / sizeof hidden_features[0]; k++)
		if (b->sType == hidden_features[k].type) {
			*n = hidden_features[k].bools;
			return (VkBool32 *)((char *)p + sizeof(VkBaseInStructure));
		}
	return NULL;
}

static VKAPI_ATTR VkResult VKAPI_CALL EnumerateDeviceExtensionProperties(
    VkPhysicalDevice pd, const char *layer, uint32_t *count, VkExtensionProperties *out) {
	struct inst *i = inst_find(key_of(pd));
	if (layer && strcmp(layer, LAYER_NAME) == 0) {
		/* VK_KHR_swapchain, which the layer implements: the manifest lists it */
		static const VkExtensionProperties own = {VK_KHR_SWAPCHAIN_EXTENSION_NAME, 70};
		if (!out) {
			*count = 1;
			return VK_SUCCESS;
		}
		if (*count < 1)
			return VK_INCOMPLETE;
		out[0] = own;
		*count = 1;
		return VK_SUCCESS;
	}
	if (layer || pd_passes(pd))
		return i->EnumerateDeviceExtensionProperties(pd, layer, count, out);
	uint32_t n;
	VkExtensionProperties *all = device_exts(i, pd, &n);
	if (!all)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	uint32_t m = 0;
	for (uint32_t k = 0; k < n; k++)
		if (!is_hidden_ext(all[k].extensionName))
			all[m++] = all[k];
	VkResult r = VK_SUCCESS;
	if (!out) {
		*count = m;
	} else {
		if (*count < m)
			r = VK_INCOMPLETE;
		else
			*count = m;
		memcpy(out, all, *count * sizeof *out);
	}
	free(all);
	return r;
}

static void hide_features(VkPhysicalDeviceFeatures2 *f) {
	for (VkBaseOutStructure *p = f->pNext; p; p = p->pNext) {
		uint32_t n;
		VkBool32 *b = hidden_bools(p, &n);
		for (uint32_t k = 0; b && k < n; k++)
			b[k] = VK_FALSE;
	}
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2(VkPhysicalDevice pd,
							     VkPhysicalDeviceFeatures2 *f) {
	inst_find(key_of(pd))->GetPhysicalDeviceFeatures2(pd, f);
	if (!pd_passes(pd))
		hide_features(f);
}

static VKAPI_ATTR void VKAPI_CALL GetPhysicalDeviceFeatures2KHR(VkPhysicalDevice pd,
								VkPhysicalDeviceFeatures2 *f) {
	inst_find(key_of(pd))->GetPhysicalDeviceFeatures2KHR(pd, f);
	if (!pd_passes(pd))
		hide_features(f);
}

/* refused says why vkCreateDevice must fail for what ci asks of the hidden, or VK_SUCCESS */
static VkResult refused(const VkDeviceCreateInfo *ci, bool quiet) {
	for (uint32_t k = 0; k < ci->enabledExtensionCount; k++)
		if (is_hidden_ext(ci->ppEnabledExtensionNames[k])) {
			if (!quiet)
				say("vkCreateDevice: %s is not offered with this layer's swapchains",
			    ci->ppEnabledExtensionNames[k]);
			return VK_ERROR_EXTENSION_NOT_PRESENT;
		}
	for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext) {
		uint32_t n;
		const VkBool32 *b = hidden_bools(p, &n);
		for (uint32_t k = 0; b && k < n; k++)
			if (b[k]) {
				if (!quiet)
					say("vkCreateDevice: feature structure %d asks for a feature not "
				    "offered with this layer's swapchains",
				    (int)p->sType);
				return VK_ERROR_FEATURE_NOT_PRESENT;
			}
	}
	return VK_SUCCESS;
}

/* ---- device level ---- */

/* sync_fd_usable says whether acquire can import sync files into the app's semaphores
 * and fences on pd: both extensions offered (on Vulkan 1.1, which they build on) and
 * SYNC_FD importable for both. */
static bool sync_fd_usable(struct inst *i, VkPhysicalDevice pd, uint32_t api,
			   const VkExtensionProperties *e, uint32_t n) {
	if (env_is("XINIT_VK_PRESENT_SYNCFD", "0") || api < VK_API_VERSION_1_1 ||
	    i->api < VK_API_VERSION_1_1 || !i->GetPhysicalDeviceExternalSemaphoreProperties ||
	    !i->GetPhysicalDeviceExternalFenceProperties ||
	    !has_ext(e, n, VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME) ||
	    !has_ext(e, n, VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME))
		return false;
	VkPhysicalDeviceExternalSemaphoreInfo si = {
	    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_SEMAPHORE_INFO, NULL,
	    VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT};
	VkExternalSemaphoreProperties sp = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_SEMAPHORE_PROPERTIES};
	i->GetPhysicalDeviceExternalSemaphoreProperties(pd, &si, &sp);
	VkPhysicalDeviceExternalFenceInfo fi = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_FENCE_INFO,
						NULL, VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT};
	VkExternalFenceProperties fp = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_FENCE_PROPERTIES};
	i->GetPhysicalDeviceExternalFenceProperties(pd, &fi, &fp);
	return (sp.externalSemaphoreFeatures & VK_EXTERNAL_SEMAPHORE_FEATURE_IMPORTABLE_BIT) &&
	       (fp.externalFenceFeatures & VK_EXTERNAL_FENCE_FEATURE_IMPORTABLE_BIT);
}

/* transfer_family picks the family of a queue of the layer's own for the present's
 * copy, with XINIT_VK_PRESENT_XFER=1 (not yet run on a device that has such a
 * family): one with transfer and neither graphics nor compute (a copy engine, which
 * runs beside the app's rendering), where every queue the app asks for is of one
 * other family (its swapchain images can then be shared by that family and the
 * copy's, with no ownership transfers between families of the app's to break). */
static bool transfer_family(struct inst *i, VkPhysicalDevice pd, const VkDeviceCreateInfo *ci,
			    uint32_t *app, uint32_t *xfer) {
	if (!env_is("XINIT_VK_PRESENT_XFER", "1") || ci->queueCreateInfoCount == 0)
		return false;
	*app = ci->pQueueCreateInfos[0].queueFamilyIndex;
	for (uint32_t k = 0; k < ci->queueCreateInfoCount; k++)
		if (ci->pQueueCreateInfos[k].queueFamilyIndex != *app ||
		    ci->pQueueCreateInfos[k].flags != 0)
			return false;
	uint32_t n = 0;
	i->GetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	VkQueueFamilyProperties *f = calloc(n ? n : 1, sizeof *f);
	if (!f)
		return false;
	i->GetPhysicalDeviceQueueFamilyProperties(pd, &n, f);
	bool found = false;
	for (uint32_t k = 0; k < n && !found; k++)
		if (k != *app && f[k].queueCount > 0 && (f[k].queueFlags & VK_QUEUE_TRANSFER_BIT) &&
		    !(f[k].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT))) {
			*xfer = k;
			found = true;
		}
	free(f);
	return found;
}

/* host_import_usable says whether the present's copy can write into MIT-SHM segments
 * imported with VK_EXT_external_memory_host, and with what alignment: the extension
 * offered (with VK_KHR_external_memory where the device or the app is Vulkan 1.0, whose
 * instance then has VK_KHR_external_memory_capabilities: see CreateInstance), an
 * alignment no finer than a page and no coarser than 64 KiB (segments are page
 * aligned; a coarser one would be padded per frame), and XINIT_VK_PRESENT_IMPORT not 0. */
static bool host_import_usable(struct inst *i, VkPhysicalDevice pd, const VkExtensionProperties *e,
			       uint32_t n, VkDeviceSize *align) {
	PFN_vkGetPhysicalDeviceProperties2 props2 =
	    i->GetPhysicalDeviceProperties2 ? i->GetPhysicalDeviceProperties2
					    : (PFN_vkGetPhysicalDeviceProperties2)i->GetPhysicalDeviceProperties2KHR;
	if (env_is("XINIT_VK_PRESENT_IMPORT", "0") || !props2 ||
	    !has_ext(e, n, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME))
		return false;
	VkPhysicalDeviceProperties p1;
	i->GetPhysicalDeviceProperties(pd, &p1);
	if ((i->api < VK_API_VERSION_1_1 || p1.apiVersion < VK_API_VERSION_1_1) &&
	    (!i->ext_mem_caps || !has_ext(e, n, VK_KHR_EXTERNAL_MEMORY_EXTENSION_NAME)))
		return false;
	VkPhysicalDeviceExternalMemoryHostPropertiesEXT host = {
	    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
					  .pNext = &host};
	props2(pd, &p2);
	long page = sysconf(_SC_PAGESIZE);
	VkDeviceSize a = host.minImportedHostPointerAlignment;
	if (a == 0 || (a & (a - 1)) != 0 || a > 65536 || (page > 0 && (VkDeviceSize)page % a != 0 &&
							    a % (VkDeviceSize)page != 0))
		return false;
	*align = a;
	return true;
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateDevice(VkPhysicalDevice pd,
						   const VkDeviceCreateInfo *ci,
						   const VkAllocationCallbacks *alloc,
						   VkDevice *out) {
	struct inst *i = inst_find(key_of(pd));
	VkLayerDeviceCreateInfo *link = NULL, *loader_data = NULL;
	for (VkLayerDeviceCreateInfo *p = (VkLayerDeviceCreateInfo *)ci->pNext; p;
	     p = (VkLayerDeviceCreateInfo *)p->pNext) {
		if (p->sType != VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO)
			continue;
		if (p->function == VK_LAYER_LINK_INFO && !link)
			link = p;
		if (p->function == VK_LOADER_DATA_CALLBACK && !loader_data)
			loader_data = p;
	}
	if (!i || !link || !loader_data)
		return VK_ERROR_INITIALIZATION_FAILED;
	bool pass = pd_passes(pd);
	VkResult no = refused(ci, pass);
	if (no != VK_SUCCESS && !pass)
		return no;
	PFN_vkGetInstanceProcAddr gipa = link->u.pLayerInfo->pfnNextGetInstanceProcAddr;
	PFN_vkGetDeviceProcAddr gdpa = link->u.pLayerInfo->pfnNextGetDeviceProcAddr;
	link->u.pLayerInfo = link->u.pLayerInfo->pNext;
	PFN_vkCreateDevice create = (PFN_vkCreateDevice)gipa(i->handle, "vkCreateDevice");
	VkPhysicalDeviceProperties props;
	i->GetPhysicalDeviceProperties(pd, &props);

	/* the device with the sync file extensions added when acquire is to use them */
	uint32_t navail;
	VkExtensionProperties *avail = device_exts(i, pd, &navail);
	if (!avail)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	bool sync_fd = !pass && sync_fd_usable(i, pd, props.apiVersion, avail, navail);
	VkDeviceSize host_align = 0;
	bool host_import = !pass && host_import_usable(i, pd, avail, navail, &host_align);
	bool need_ext_mem = host_import && (i->api < VK_API_VERSION_1_1 ||
					    props.apiVersion < VK_API_VERSION_1_1);
	free(avail);
	const char **names = calloc(ci->enabledExtensionCount + 4, sizeof *names);
	if (!names)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	uint32_t nnames = 0;
	for (uint32_t k = 0; k < ci->enabledExtensionCount; k++)
		names[nnames++] = ci->ppEnabledExtensionNames[k];
	if (sync_fd) {
		const char *add[] = {VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME,
				     VK_KHR_EXTERNAL_FENCE_FD_EXTENSION_NAME};
		for (uint32_t k = 0; k < 2; k++)
			if (!named(names, nnames, add[k]))
				names[nnames++] = add[k];
	}
	if (host_import && !named(names, nnames, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME))
		names[nnames++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
	if (need_ext_mem && !named(names, nnames, VK_KHR_EXTERNAL_MEMORY_EXTENSION_NAME))
		names[nnames++] = VK_KHR_EXTERNAL_MEMORY_EXTENSION_NAME;
	VkDeviceCreateInfo dci = *ci;
	dci.enabledExtensionCount = nnames;
	dci.ppEnabledExtensionNames = names;
	/* and, where there is one to have, a queue of the layer's own for the copy */
	uint32_t app_family = 0, xfer_family = 0;
	VkDeviceQueueCreateInfo *qcis = NULL;
	static const float xfer_priority = 1.0f;
	if (!pass && transfer_family(i, pd, ci, &app_family, &xfer_family) &&
	    (qcis = calloc(ci->queueCreateInfoCount + 1, sizeof *qcis))) {
		memcpy(qcis, ci->pQueueCreateInfos, ci->queueCreateInfoCount * sizeof *qcis);
		qcis[ci->queueCreateInfoCount] = (VkDeviceQueueCreateInfo){
		    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		    .queueFamilyIndex = xfer_family,
		    .queueCount = 1,
		    .pQueuePriorities = &xfer_priority};
		dci.queueCreateInfoCount = ci->queueCreateInfoCount + 1;
		dci.pQueueCreateInfos = qcis;
	}
	VkLayerDeviceLink *below = link->u.pLayerInfo;
	VkResult r = create(pd, &dci, alloc, out);
	if (r != VK_SUCCESS && qcis) { /* without the layer's queue, then */
		free(qcis);
		qcis = NULL;
		dci.queueCreateInfoCount = ci->queueCreateInfoCount;
		dci.pQueueCreateInfos = ci->pQueueCreateInfos;
		link->u.pLayerInfo = below;
		r = create(pd, &dci, alloc, out);
	}
	free(names);
	if (r != VK_SUCCESS) {
		free(qcis);
		return r;
	}
	struct dev *d = calloc(1, sizeof *d);
	if (!d)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	d->key = key_of(*out);
	d->handle = *out;
	d->phys = pd;
	d->inst = i;
	d->set_loader_data = loader_data->u.pfnSetDeviceLoaderData;
	d->pass = pass;
	d->alias = (i->api >= VK_API_VERSION_1_1 && props.apiVersion >= VK_API_VERSION_1_1) ||
		   named(ci->ppEnabledExtensionNames, ci->enabledExtensionCount,
			 VK_KHR_BIND_MEMORY_2_EXTENSION_NAME);
	pthread_mutex_init(&d->queue_lock, NULL);
	pthread_mutex_init(&d->books_lock, NULL);
	i->GetPhysicalDeviceMemoryProperties(pd, &d->mem);
	memcpy(d->gpu_name, props.deviceName, sizeof d->gpu_name);
#define GET_DEV_FN(name) d->name = (PFN_vk##name)gdpa(*out, "vk" #name);
	DEV_FNS(GET_DEV_FN)
	d->QueueSubmit2 = (PFN_vkQueueSubmit2)gdpa(*out, "vkQueueSubmit2");
	d->QueueSubmit2KHR = (PFN_vkQueueSubmit2KHR)gdpa(*out, "vkQueueSubmit2KHR");
	if (qcis) {
		d->GetDeviceQueue(*out, xfer_family, 0, &d->xfer);
		if (d->xfer && d->set_loader_data(*out, d->xfer) == VK_SUCCESS) {
			d->xfer_family = xfer_family;
			d->app_family = app_family;
		} else {
			d->xfer = VK_NULL_HANDLE;
		}
		free(qcis);
	}
	if (sync_fd) {
		d->ImportSemaphoreFdKHR =
		    (PFN_vkImportSemaphoreFdKHR)gdpa(*out, "vkImportSemaphoreFdKHR");
		d->ImportFenceFdKHR = (PFN_vkImportFenceFdKHR)gdpa(*out, "vkImportFenceFdKHR");
		d->sync_fd = d->ImportSemaphoreFdKHR && d->ImportFenceFdKHR;
	}
	if (host_import) {
		d->GetMemoryHostPointerPropertiesEXT = (PFN_vkGetMemoryHostPointerPropertiesEXT)gdpa(
		    *out, "vkGetMemoryHostPointerPropertiesEXT");
		d->host_import = d->GetMemoryHostPointerPropertiesEXT != NULL;
		d->host_align = host_align;
	}
	push_node(&devs, d);
	return VK_SUCCESS;
}

static void destroy_swapchain(struct swapchain *sc);

static VKAPI_ATTR void VKAPI_CALL DestroyDevice(VkDevice device,
						const VkAllocationCallbacks *alloc) {
	struct dev *d = dev_find(key_of(device));
	if (!d)
		return;
	unlink_node(&devs, d);
	/* swapchains the app left alive: their workers use the device until joined */
	for (;;) {
		pthread_mutex_lock(&map_lock);
		struct swapchain *sc = swapchains;
		while (sc && sc->dev != d)
			sc = sc->next;
		pthread_mutex_unlock(&map_lock);
		if (!sc)
			break;
		unlink_node(&swapchains, sc);
		destroy_swapchain(sc);
	}
	d->DestroyDevice(device, alloc);
	pthread_mutex_destroy(&d->queue_lock);
	pthread_mutex_destroy(&d->books_lock);
	free(d->owed.v);
	free(d->signaled.v);
	free(d);
}

static void note_queue(struct dev *d, VkQueue q, uint32_t family) {
	pthread_mutex_lock(&d->queue_lock);
	uint32_t k = 0;
	while (k < d->nqueues && d->queues[k] != q)
		k++;
	if (k == d->nqueues && k < MAX_QUEUES) {
		d->queues[k] = q;
		d->families[k] = family;
		d->nqueues++;
	}
	pthread_mutex_unlock(&d->queue_lock);
}

static VKAPI_ATTR void VKAPI_CALL GetDeviceQueue(VkDevice device, uint32_t family, uint32_t index,
						 VkQueue *q) {
	struct dev *d = dev_find(key_of(device));
	d->GetDeviceQueue(device, family, index, q);
	if (*q)
		note_queue(d, *q, family);
}

static VKAPI_ATTR void VKAPI_CALL GetDeviceQueue2(VkDevice device, const VkDeviceQueueInfo2 *info,
						  VkQueue *q) {
	struct dev *d = dev_find(key_of(device));
	d->GetDeviceQueue2(device, info, q);
	if (*q)
		note_queue(d, *q, info->queueFamilyIndex);
}

static uint32_t queue_family(struct dev *d, VkQueue q) {
	uint32_t family = 0;
	pthread_mutex_lock(&d->queue_lock);
	for (uint32_t k = 0; k < d->nqueues; k++)
		if (d->queues[k] == q)
			family = d->families[k];
	pthread_mutex_unlock(&d->queue_lock);
	return family;
}

static bool memory_type(struct dev *d, uint32_t bits, VkMemoryPropertyFlags want, uint32_t *out) {
	for (uint32_t k = 0; k < d->mem.memoryTypeCount; k++) {
		if ((bits & (1u << k)) && (d->mem.memoryTypes[k].propertyFlags & want) == want) {
			*out = k;
			return true;
		}
	}
	return false;
}

/* free_images destroys the images and what each has, and leaves them zeroed. */
static void free_images(struct swapchain *sc) {
	const VkAllocationCallbacks *alloc = sc->alloc;
	struct dev *d = sc->dev;
	for (uint32_t k = 0; sc->images && k < sc->count; k++) {
		struct image *img = &sc->images[k];
		if (img->fence)
			d->DestroyFence(d->handle, img->fence, alloc);
		if (img->pixels)
			d->UnmapMemory(d->handle, img->buffer_memory);
		if (img->buffer)
			d->DestroyBuffer(d->handle, img->buffer, alloc);
		if (img->buffer_memory) /* before the segment it may be imported from goes */
			d->FreeMemory(d->handle, img->buffer_memory, alloc);
		if (img->shm_addr) {
			xcb_shm_detach(sc->conn, img->seg);
			shmdt(img->shm_addr);
		}
		if (img->image)
			d->DestroyImage(d->handle, img->image, alloc);
		if (img->memory)
			d->FreeMemory(d->handle, img->memory, alloc);
		memset(img, 0, sizeof *img);
	}
}

static void destroy_swapchain(struct swapchain *sc) {
	const VkAllocationCallbacks *alloc = sc->alloc;
	struct dev *d = sc->dev;
	if (sc->worker) {
		pthread_mutex_lock(&sc->lock);
		sc->stop = true;
		pthread_cond_broadcast(&sc->work);
		pthread_mutex_unlock(&sc->lock);
		pthread_join(sc->worker, NULL);
	}
	if (env_is("XINIT_VK_PRESENT_STATS", "1") && sc->shown > 0) {
		double secs = (sc->last.tv_sec - sc->first.tv_sec) +
			      (sc->last.tv_nsec - sc->first.tv_nsec) / 1e9;
		say("swapchain %ux%u: %llu frames shown, %llu dropped; per shown frame %.3f ms "
		    "copying to %s, %.3f ms putting to the window; %.1f shown a second",
		    sc->extent.width, sc->extent.height, (unsigned long long)sc->shown,
		    (unsigned long long)sc->dropped, sc->copy_ms / sc->shown,
		    sc->direct ? "shared memory (none: the GPU wrote there)"
		    : sc->shm  ? "shared memory"
			       : "the request",
		    sc->put_ms / sc->shown, secs > 0 ? (sc->shown - 1) / secs : 0.0);
	}
	free_images(sc);
	if (sc->pool)
		d->DestroyCommandPool(d->handle, sc->pool, alloc); /* frees the command buffers */
	if (sc->shm) {
		xcb_shm_detach(sc->conn, sc->seg);
		shmdt(sc->shm_addr);
	}
	if (sc->gc)
		xcb_free_gc(sc->conn, sc->gc);
	xcb_flush(sc->conn);
	pthread_mutex_destroy(&sc->lock);
	pthread_cond_destroy(&sc->work);
	pthread_cond_destroy(&sc->freed);
	free(sc->fifo);
	free(sc->images);
	free(sc->families);
	free(sc->formats);
	free(sc);
}

/* import_segment gives img a MIT-SHM segment of its own, attached by the X server, and
 * a buffer whose memory is that segment, imported with VK_EXT_external_memory_host:
 * the present's copy writes the pixels where the X server reads them. Fails (and the
 * swapchain falls back to a mapped buffer and one segment) where the driver does not
 * import the segment, or into no host-coherent memory type. */
static VkResult import_segment(struct swapchain *sc, struct image *img,
			       const VkAllocationCallbacks *alloc) {
	struct dev *d = sc->dev;
	VkDeviceSize a = d->host_align, size = (sc->frame_bytes + a - 1) / a * a;
	if (!shm_open_segment(sc->conn, size, &img->seg, &img->shm_addr)) {
		img->shm_addr = NULL;
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	if ((uintptr_t)img->shm_addr % a != 0)
		return VK_ERROR_INITIALIZATION_FAILED;
	VkExternalMemoryBufferCreateInfo ext = {
	    VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, NULL,
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT};
	VkBufferCreateInfo bci = {
	    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
	    .pNext = &ext,
	    .size = sc->frame_bytes,
	    .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
	    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	VkResult r = d->CreateBuffer(d->handle, &bci, alloc, &img->buffer);
	if (r != VK_SUCCESS)
		return r;
	VkMemoryRequirements req;
	d->GetBufferMemoryRequirements(d->handle, img->buffer, &req);
	VkMemoryHostPointerPropertiesEXT hp = {
	    .sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	r = d->GetMemoryHostPointerPropertiesEXT(
	    d->handle, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, img->shm_addr, &hp);
	if (r != VK_SUCCESS)
		return r;
	VkImportMemoryHostPointerInfoEXT imp = {
	    VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT, NULL,
	    VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, img->shm_addr};
	VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &imp, size, 0};
	/* host coherent: the X server reads what the GPU wrote with no invalidation */
	if (req.size > size ||
	    !memory_type(d, req.memoryTypeBits & hp.memoryTypeBits,
			 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			 &ai.memoryTypeIndex))
		return VK_ERROR_FORMAT_NOT_SUPPORTED;
	img->coherent = true;
	if ((r = d->AllocateMemory(d->handle, &ai, alloc, &img->buffer_memory)) != VK_SUCCESS)
		return r;
	return d->BindBufferMemory(d->handle, img->buffer, img->buffer_memory, 0);
}

/* image_info fills *ici with how the swapchain's images are made from what the app asked
 * (*list holds its format list, where it gave one) */
static void image_info(struct dev *d, const VkSwapchainCreateInfoKHR *ci, VkImageCreateInfo *ici,
		       VkImageFormatListCreateInfo *list, uint32_t shared[2]) {
	*ici = (VkImageCreateInfo){
	    .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
	    .imageType = VK_IMAGE_TYPE_2D,
	    .format = ci->imageFormat,
	    .extent = {ci->imageExtent.width, ci->imageExtent.height, 1},
	    .mipLevels = 1,
	    .arrayLayers = ci->imageArrayLayers,
	    .samples = VK_SAMPLE_COUNT_1_BIT,
	    .tiling = VK_IMAGE_TILING_OPTIMAL,
	    .usage = ci->imageUsage | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
	    .sharingMode = ci->imageSharingMode,
	    .queueFamilyIndexCount = ci->queueFamilyIndexCount,
	    .pQueueFamilyIndices = ci->pQueueFamilyIndices,
	    .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
	};
	/* an image of the app's may alias it (see CreateImage): made the same way, both
	 * read the memory alike */
	if (d->alias)
		ici->flags |= VK_IMAGE_CREATE_ALIAS_BIT;
	/* the copy's queue reads the image too: shared by the app's family and its */
	shared[0] = d->app_family;
	shared[1] = d->xfer_family;
	if (d->xfer) {
		ici->sharingMode = VK_SHARING_MODE_CONCURRENT;
		ici->queueFamilyIndexCount = 2;
		ici->pQueueFamilyIndices = shared;
	}
	if (ci->flags & VK_SWAPCHAIN_CREATE_MUTABLE_FORMAT_BIT_KHR) {
		ici->flags |= VK_IMAGE_CREATE_MUTABLE_FORMAT_BIT | VK_IMAGE_CREATE_EXTENDED_USAGE_BIT;
		for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext)
			if (p->sType == VK_STRUCTURE_TYPE_IMAGE_FORMAT_LIST_CREATE_INFO) {
				*list = *(const VkImageFormatListCreateInfo *)p;
				list->pNext = NULL; /* the list alone, not the rest of the chain */
				ici->pNext = list;
			}
	}
}

static VkResult create_image(struct swapchain *sc, struct image *img,
			     const VkSwapchainCreateInfoKHR *ci, const VkAllocationCallbacks *alloc) {
	struct dev *d = sc->dev;
	VkImageCreateInfo ici;
	VkImageFormatListCreateInfo list;
	uint32_t shared[2];
	image_info(d, ci, &ici, &list, shared);
	VkResult r = d->CreateImage(d->handle, &ici, alloc, &img->image);
	if (r != VK_SUCCESS)
		return r;
	VkMemoryRequirements req;
	d->GetImageMemoryRequirements(d->handle, img->image, &req);
	VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, req.size, 0};
	if (!memory_type(d, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
			 &ai.memoryTypeIndex) &&
	    !memory_type(d, req.memoryTypeBits, 0, &ai.memoryTypeIndex))
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	if ((r = d->AllocateMemory(d->handle, &ai, alloc, &img->memory)) != VK_SUCCESS ||
	    (r = d->BindImageMemory(d->handle, img->image, img->memory, 0)) != VK_SUCCESS)
		return r;

	VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, NULL, 0};
	if ((r = d->CreateFence(d->handle, &fci, alloc, &img->fence)) != VK_SUCCESS)
		return r;
	if (sc->direct)
		return import_segment(sc, img, alloc);
	VkBufferCreateInfo bci = {
	    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
	    .size = sc->frame_bytes,
	    .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
	    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	if ((r = d->CreateBuffer(d->handle, &bci, alloc, &img->buffer)) != VK_SUCCESS)
		return r;
	d->GetBufferMemoryRequirements(d->handle, img->buffer, &req);
	ai.allocationSize = req.size;
	/* cached memory reads fast from the CPU; coherent saves the invalidation */
	const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
	if (!memory_type(d, req.memoryTypeBits,
			 hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
			 &ai.memoryTypeIndex) &&
	    !memory_type(d, req.memoryTypeBits, hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
			 &ai.memoryTypeIndex) &&
	    !memory_type(d, req.memoryTypeBits, hv, &ai.memoryTypeIndex))
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	img->coherent = d->mem.memoryTypes[ai.memoryTypeIndex].propertyFlags &
			VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	if ((r = d->AllocateMemory(d->handle, &ai, alloc, &img->buffer_memory)) != VK_SUCCESS ||
	    (r = d->BindBufferMemory(d->handle, img->buffer, img->buffer_memory, 0)) != VK_SUCCESS ||
	    (r = d->MapMemory(d->handle, img->buffer_memory, 0, VK_WHOLE_SIZE, 0, &img->pixels)) !=
		VK_SUCCESS)
		return r;
	return VK_SUCCESS;
}

/* keep_info keeps what image_info needs of ci, for images the app binds to the
 * swapchain's later */
static bool keep_info(struct swapchain *sc, const VkSwapchainCreateInfoKHR *ci) {
	sc->info = *ci;
	sc->info.pNext = NULL;
	uint32_t nf = ci->imageSharingMode == VK_SHARING_MODE_CONCURRENT ? ci->queueFamilyIndexCount : 0;
	sc->info.queueFamilyIndexCount = nf;
	sc->info.pQueueFamilyIndices = NULL;
	if (nf) {
		if (!(sc->families = calloc(nf, sizeof *sc->families)))
			return false;
		memcpy(sc->families, ci->pQueueFamilyIndices, nf * sizeof *sc->families);
		sc->info.pQueueFamilyIndices = sc->families;
	}
	for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext)
		if (p->sType == VK_STRUCTURE_TYPE_IMAGE_FORMAT_LIST_CREATE_INFO) {
			sc->list = *(const VkImageFormatListCreateInfo *)p;
			sc->list.pNext = NULL;
			uint32_t n = sc->list.viewFormatCount;
			if (n && !(sc->formats = calloc(n, sizeof *sc->formats)))
				return false;
			if (n)
				memcpy(sc->formats, sc->list.pViewFormats, n * sizeof *sc->formats);
			sc->list.pViewFormats = sc->formats;
			sc->info.pNext = &sc->list;
		}
	return true;
}

static VKAPI_ATTR VkResult VKAPI_CALL CreateSwapchainKHR(VkDevice device,
							 const VkSwapchainCreateInfoKHR *ci,
							 const VkAllocationCallbacks *alloc,
							 VkSwapchainKHR *out) {
	struct dev *d = dev_find(key_of(device));
	struct surf s;
	if (!surf_find(ci->surface, &s))
		return d->CreateSwapchainKHR(device, ci, alloc, out);
	struct swapchain *old = sc_find(ci->oldSwapchain);
	if (presented_by(d->phys, &s) == BY_DRIVER) {
		/* the driver's swapchain; one of the layer's it replaces is only retired */
		VkSwapchainCreateInfoKHR dci = *ci;
		if (old)
			dci.oldSwapchain = VK_NULL_HANDLE;
		VkResult r = d->CreateSwapchainKHR(device, &dci, alloc, out);
		if (r == VK_SUCCESS && old) {
			pthread_mutex_lock(&old->lock);
			old->retired = true;
			pthread_mutex_unlock(&old->lock);
		}
		if (r < 0)
			say("X window 0x%x: the driver, which answered the surface queries, fails "
			    "vkCreateSwapchainKHR with %s",
			    s.window, result_name(r));
		return r;
	}
	if (d->pass) { /* a surface asked about after the device was made */
		say("X window 0x%x: no swapchain by copy on a device made when the driver "
		    "presented every X window asked about",
		    s.window);
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	if (old) {
		pthread_mutex_lock(&old->lock);
		old->retired = true;
		pthread_mutex_unlock(&old->lock);
	}
	VkExtent2D now;
	uint8_t depth;
	if (!window_size(s.conn, s.window, &now, &depth))
		return VK_ERROR_SURFACE_LOST_KHR;
	if (depth != 24 && depth != 32)
		return VK_ERROR_INITIALIZATION_FAILED;

	struct swapchain *sc = calloc(1, sizeof *sc);
	if (!sc)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	sc->dev = d;
	if (alloc) {
		sc->alloc_copy = *alloc;
		sc->alloc = &sc->alloc_copy;
	}
	sc->conn = s.conn;
	sc->window = s.window;
	sc->depth = depth;
	sc->extent = ci->imageExtent;
	sc->mode = ci->presentMode;
	sc->count = ci->minImageCount < 2 ? 2 : ci->minImageCount;
	sc->frame_bytes = (size_t)sc->extent.width * sc->extent.height * 4;
	sc->copy = !env_is("XINIT_VK_PRESENT_COPY", "0");
	sc->status = now.width == sc->extent.width && now.height == sc->extent.height
			 ? VK_SUCCESS
			 : VK_SUBOPTIMAL_KHR;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->work, &ca);
	pthread_cond_init(&sc->freed, &ca);
	pthread_condattr_destroy(&ca);
	sc->images = calloc(sc->count, sizeof *sc->images);
	sc->fifo = calloc(sc->count, sizeof *sc->fifo);
	if (!sc->images || !sc->fifo || !keep_info(sc, ci)) {
		destroy_swapchain(sc);
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	sc->direct = d->host_import && sc->copy && shm_usable(sc->conn);
	for (uint32_t k = 0; k < sc->count; k++) {
		VkResult r = create_image(sc, &sc->images[k], ci, alloc);
		if (r != VK_SUCCESS && sc->direct) { /* the copy to a mapped buffer, then */
			say("X window 0x%x: the GPU cannot copy into its MIT-SHM segments (%s): "
			    "copying through a buffer of the layer's own",
			    sc->window, result_name(r));
			free_images(sc);
			sc->direct = false;
			k = (uint32_t)-1; /* all again, from the first image */
			continue;
		}
		if (r != VK_SUCCESS) {
			destroy_swapchain(sc);
			return r;
		}
	}
	sc->gc = xcb_generate_id(sc->conn);
	uint32_t no_exposures = 0;
	xcb_generic_error_t *err = xcb_request_check(
	    sc->conn, xcb_create_gc_checked(sc->conn, sc->gc, sc->window,
					    XCB_GC_GRAPHICS_EXPOSURES, &no_exposures));
	if (err) {
		free(err);
		sc->gc = 0;
		destroy_swapchain(sc);
		return VK_ERROR_SURFACE_LOST_KHR;
	}
	if (!sc->direct)
		sc->shm = shm_usable(sc->conn) &&
			  shm_open_segment(sc->conn, sc->frame_bytes, &sc->seg, &sc->shm_addr);
	if (pthread_create(&sc->worker, NULL, worker_main, sc) != 0) {
		sc->worker = 0;
		destroy_swapchain(sc);
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	}
	push_node(&swapchains, sc);
	char on[64] = "the app's queue";
	if (d->xfer)
		snprintf(on, sizeof on, "a transfer queue of its own (family %u)", d->xfer_family);
	say("swapchain %ux%u, %u images on %s, presented by copy to X window 0x%x through %s%s; "
	    "acquire signals %s; the copy runs on %s",
	    sc->extent.width, sc->extent.height, sc->count, d->gpu_name, sc->window,
	    sc->direct ? "MIT-SHM, the GPU copying into the segments"
	    : sc->shm  ? "MIT-SHM"
		       : "PutImage",
	    sc->copy ? "" : " (copy to the window turned off)",
	    d->sync_fd ? "by sync file" : "through the layer's books", on);
	*out = (VkSwapchainKHR)(uintptr_t)sc;
	return VK_SUCCESS;
}

/* An image of the app's may be bound to a swapchain image's memory (Vulkan 1.1,
 * VkImageSwapchainCreateInfoKHR then VkBindImageMemorySwapchainInfoKHR): for the
 * layer's swapchains it is made as their images are, without the swapchain the driver
 * would not know, and bound to that image's memory. */
static VKAPI_ATTR VkResult VKAPI_CALL CreateImage(VkDevice device, const VkImageCreateInfo *ci,
						  const VkAllocationCallbacks *alloc, VkImage *out) {
	struct dev *d = dev_find(key_of(device));
	struct swapchain *sc = NULL;
	for (const VkBaseInStructure *p = ci->pNext; p; p = p->pNext)
		if (p->sType == VK_STRUCTURE_TYPE_IMAGE_SWAPCHAIN_CREATE_INFO_KHR)
			sc = sc_find(((const VkImageSwapchainCreateInfoKHR *)p)->swapchain);
	if (!sc)
		return d->CreateImage(device, ci, alloc, out);
	VkImageCreateInfo ici;
	VkImageFormatListCreateInfo list;
	uint32_t shared[2];
	image_info(d, &sc->info, &ici, &list, shared);
	return d->CreateImage(device, &ici, alloc, out);
}

static VkResult bind_images(PFN_vkBindImageMemory2 next, VkDevice device, uint32_t n,
			    const VkBindImageMemoryInfo *bi) {
	VkBindImageMemoryInfo *mine = NULL;
	for (uint32_t k = 0; k < n; k++)
		for (const VkBaseInStructure *p = bi[k].pNext; p; p = p->pNext) {
			if (p->sType != VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_SWAPCHAIN_INFO_KHR)
				continue;
			const VkBindImageMemorySwapchainInfoKHR *b = (const void *)p;
			struct swapchain *sc = sc_find(b->swapchain);
			if (!sc || b->imageIndex >= sc->count)
				continue;
			if (!mine) {
				if (!(mine = malloc(n * sizeof *mine)))
					return VK_ERROR_OUT_OF_HOST_MEMORY;
				memcpy(mine, bi, n * sizeof *mine);
			}
			mine[k] = (VkBindImageMemoryInfo){VK_STRUCTURE_TYPE_BIND_IMAGE_MEMORY_INFO, NULL,
							  bi[k].image,
							  sc->images[b->imageIndex].memory, 0};
		}
	VkResult r = next(device, n, mine ? mine : bi);
	free(mine);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2(VkDevice device, uint32_t n,
						       const VkBindImageMemoryInfo *bi) {
	struct dev *d = dev_find(key_of(device));
	return bind_images(d->BindImageMemory2, device, n, bi);
}

static VKAPI_ATTR VkResult VKAPI_CALL BindImageMemory2KHR(VkDevice device, uint32_t n,
							  const VkBindImageMemoryInfo *bi) {
	struct dev *d = dev_find(key_of(device));
	return bind_images(d->BindImageMemory2KHR, device, n, bi);
}

static VKAPI_ATTR void VKAPI_CALL DestroySwapchainKHR(VkDevice device, VkSwapchainKHR h,
						      const VkAllocationCallbacks *alloc) {
	struct dev *d = dev_find(key_of(device));
	if (h == VK_NULL_HANDLE)
		return;
	struct swapchain *sc = sc_find(h);
	if (!sc) {
		d->DestroySwapchainKHR(device, h, alloc);
		return;
	}
	unlink_node(&swapchains, sc);
	destroy_swapchain(sc);
}

static VKAPI_ATTR VkResult VKAPI_CALL GetSwapchainImagesKHR(VkDevice device, VkSwapchainKHR h,
							    uint32_t *count, VkImage *out) {
	struct swapchain *sc = sc_find(h);
	if (!sc)
		return dev_find(key_of(device))->GetSwapchainImagesKHR(device, h, count, out);
	if (!out) {
		*count = sc->count;
		return VK_SUCCESS;
	}
	uint32_t n = *count < sc->count ? *count : sc->count;
	for (uint32_t k = 0; k < n; k++)
		out[k] = sc->images[k].image;
	VkResult r = fill_count(count, sc->count);
	*count = n;
	return r;
}

/* signal_acquired makes the app's acquire semaphore and fence signalled without using
 * any of its queues: by importing an already signalled sync file, or in the books. */
static VkResult signal_acquired(struct dev *d, VkSemaphore sem, VkFence fence) {
	if (d->sync_fd) {
		VkResult r = VK_SUCCESS;
		if (sem) {
			VkImportSemaphoreFdInfoKHR in = {
			    VK_STRUCTURE_TYPE_IMPORT_SEMAPHORE_FD_INFO_KHR, NULL, sem,
			    VK_SEMAPHORE_IMPORT_TEMPORARY_BIT,
			    VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_SYNC_FD_BIT, -1};
			r = d->ImportSemaphoreFdKHR(d->handle, &in);
		}
		if (fence && r == VK_SUCCESS) {
			VkImportFenceFdInfoKHR in = {VK_STRUCTURE_TYPE_IMPORT_FENCE_FD_INFO_KHR, NULL,
						     fence, VK_FENCE_IMPORT_TEMPORARY_BIT,
						     VK_EXTERNAL_FENCE_HANDLE_TYPE_SYNC_FD_BIT, -1};
			r = d->ImportFenceFdKHR(d->handle, &in);
		}
		return r;
	}
	pthread_mutex_lock(&d->books_lock);
	bool ok = !sem || handles_add(&d->owed, H(sem));
	if (ok && fence && !handles_add(&d->signaled, H(fence))) {
		ok = false;
		if (sem)
			handles_take(&d->owed, H(sem));
	}
	__atomic_store_n(&d->open, d->owed.n + d->signaled.n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->books_lock);
	return ok ? VK_SUCCESS : VK_ERROR_OUT_OF_HOST_MEMORY;
}

static bool books_open(struct dev *d) { return __atomic_load_n(&d->open, __ATOMIC_ACQUIRE) != 0; }

/* settle signals, on q, the owed semaphores among waits: called inside the app's own
 * call on q, before the work that waits on them is handed down. */
static VkResult settle(struct dev *d, VkQueue q, const VkSemaphore *waits, uint32_t n) {
	if (n == 0)
		return VK_SUCCESS;
	VkSemaphore *due = malloc(n * sizeof *due);
	if (!due)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	uint32_t k = 0;
	pthread_mutex_lock(&d->books_lock);
	for (uint32_t j = 0; j < n; j++)
		if (handles_take(&d->owed, H(waits[j])))
			due[k++] = waits[j];
	__atomic_store_n(&d->open, d->owed.n + d->signaled.n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->books_lock);
	VkResult r = VK_SUCCESS;
	if (k) {
		VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
				   .signalSemaphoreCount = k,
				   .pSignalSemaphores = due};
		r = d->QueueSubmit(q, 1, &si, VK_NULL_HANDLE);
	}
	free(due);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit(VkQueue q, uint32_t n, const VkSubmitInfo *si,
						  VkFence fence) {
	struct dev *d = dev_find(key_of(q));
	if (books_open(d)) {
		for (uint32_t k = 0; k < n; k++) {
			VkResult r = settle(d, q, si[k].pWaitSemaphores, si[k].waitSemaphoreCount);
			if (r != VK_SUCCESS)
				return r;
		}
	}
	return d->QueueSubmit(q, n, si, fence);
}

static VkResult settle2(struct dev *d, VkQueue q, uint32_t n, const VkSubmitInfo2 *si) {
	for (uint32_t k = 0; k < n; k++) {
		uint32_t m = si[k].waitSemaphoreInfoCount;
		VkSemaphore *w = malloc((m ? m : 1) * sizeof *w);
		if (!w)
			return VK_ERROR_OUT_OF_HOST_MEMORY;
		for (uint32_t j = 0; j < m; j++)
			w[j] = si[k].pWaitSemaphoreInfos[j].semaphore;
		VkResult r = settle(d, q, w, m);
		free(w);
		if (r != VK_SUCCESS)
			return r;
	}
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit2(VkQueue q, uint32_t n, const VkSubmitInfo2 *si,
						   VkFence fence) {
	struct dev *d = dev_find(key_of(q));
	VkResult r = books_open(d) ? settle2(d, q, n, si) : VK_SUCCESS;
	return r != VK_SUCCESS ? r : d->QueueSubmit2(q, n, si, fence);
}

static VKAPI_ATTR VkResult VKAPI_CALL QueueSubmit2KHR(VkQueue q, uint32_t n,
						      const VkSubmitInfo2 *si, VkFence fence) {
	struct dev *d = dev_find(key_of(q));
	VkResult r = books_open(d) ? settle2(d, q, n, si) : VK_SUCCESS;
	return r != VK_SUCCESS ? r : d->QueueSubmit2KHR(q, n, si, fence);
}

static VKAPI_ATTR VkResult VKAPI_CALL QueueBindSparse(VkQueue q, uint32_t n,
						      const VkBindSparseInfo *bi, VkFence fence) {
	struct dev *d = dev_find(key_of(q));
	if (books_open(d)) {
		for (uint32_t k = 0; k < n; k++) {
			VkResult r = settle(d, q, bi[k].pWaitSemaphores, bi[k].waitSemaphoreCount);
			if (r != VK_SUCCESS)
				return r;
		}
	}
	return d->QueueBindSparse(q, n, bi, fence);
}

static VKAPI_ATTR VkResult VKAPI_CALL WaitForFences(VkDevice device, uint32_t n,
						    const VkFence *fences, VkBool32 all,
						    uint64_t timeout) {
	struct dev *d = dev_find(key_of(device));
	if (d->sync_fd)
		return d->WaitForFences(device, n, fences, all, timeout);
	VkFence *rest = malloc((n ? n : 1) * sizeof *rest);
	if (!rest)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	uint64_t end = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
	VkResult r;
	for (;;) {
		uint32_t m = 0;
		pthread_mutex_lock(&d->books_lock);
		for (uint32_t k = 0; k < n; k++)
			if (!handles_has(&d->signaled, H(fences[k])))
				rest[m++] = fences[k];
		pthread_mutex_unlock(&d->books_lock);
		if (m == 0 || (m < n && !all)) {
			r = VK_SUCCESS;
			break;
		}
		/* in slices of 2 ms: another thread's acquire may sign one of these fences
		 * off in the books while this one waits */
		uint64_t left = end - now, slice = left < 2000000 ? left : 2000000;
		r = d->WaitForFences(device, m, rest, all, slice);
		if (r != VK_TIMEOUT || left == slice)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		if (now >= end) {
			r = VK_TIMEOUT;
			break;
		}
	}
	free(rest);
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetFenceStatus(VkDevice device, VkFence fence) {
	struct dev *d = dev_find(key_of(device));
	if (books_open(d)) {
		pthread_mutex_lock(&d->books_lock);
		bool ours = handles_has(&d->signaled, H(fence));
		pthread_mutex_unlock(&d->books_lock);
		if (ours)
			return VK_SUCCESS;
	}
	return d->GetFenceStatus(device, fence);
}

/* forget takes fences or a semaphore out of the books: reset or destroyed. */
static void forget(struct dev *d, const VkFence *fences, uint32_t n, VkSemaphore sem) {
	if (!books_open(d))
		return;
	pthread_mutex_lock(&d->books_lock);
	for (uint32_t k = 0; k < n; k++)
		handles_take(&d->signaled, H(fences[k]));
	if (sem)
		handles_take(&d->owed, H(sem));
	__atomic_store_n(&d->open, d->owed.n + d->signaled.n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->books_lock);
}

static VKAPI_ATTR VkResult VKAPI_CALL ResetFences(VkDevice device, uint32_t n,
						  const VkFence *fences) {
	struct dev *d = dev_find(key_of(device));
	forget(d, fences, n, VK_NULL_HANDLE);
	return d->ResetFences(device, n, fences);
}

static VKAPI_ATTR void VKAPI_CALL DestroyFence(VkDevice device, VkFence fence,
					       const VkAllocationCallbacks *alloc) {
	struct dev *d = dev_find(key_of(device));
	forget(d, &fence, 1, VK_NULL_HANDLE);
	d->DestroyFence(device, fence, alloc);
}

static VKAPI_ATTR void VKAPI_CALL DestroySemaphore(VkDevice device, VkSemaphore sem,
						   const VkAllocationCallbacks *alloc) {
	struct dev *d = dev_find(key_of(device));
	forget(d, NULL, 0, sem);
	d->DestroySemaphore(device, sem, alloc);
}

static VkResult acquire(struct dev *d, struct swapchain *sc, uint64_t timeout, VkSemaphore sem,
			VkFence fence, uint32_t *index) {
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	uint64_t end = (uint64_t)deadline.tv_sec * 1000000000ull + (uint64_t)deadline.tv_nsec;
	end = timeout > UINT64_MAX / 2 ? UINT64_MAX / 2 : end + timeout;
	deadline.tv_sec = (time_t)(end / 1000000000ull);
	deadline.tv_nsec = (long)(end % 1000000000ull);

	pthread_mutex_lock(&sc->lock);
	VkResult r = VK_SUCCESS;
	for (;;) {
		if (sc->retired) {
			r = VK_ERROR_OUT_OF_DATE_KHR;
			break;
		}
		if (sc->status < 0) {
			r = sc->status;
			break;
		}
		uint32_t k = 0;
		while (k < sc->count && sc->images[k].state != IMG_FREE)
			k++;
		if (k < sc->count) {
			sc->images[k].state = IMG_ACQUIRED;
			*index = k;
			r = sc->status; /* VK_SUCCESS or VK_SUBOPTIMAL_KHR */
			break;
		}
		if (timeout == 0) {
			r = VK_NOT_READY;
			break;
		}
		int e = timeout == UINT64_MAX
			    ? pthread_cond_wait(&sc->freed, &sc->lock)
			    : pthread_cond_timedwait(&sc->freed, &sc->lock, &deadline);
		if (e == ETIMEDOUT) {
			r = VK_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&sc->lock);
	if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR)
		return r;
	VkResult sr = signal_acquired(d, sem, fence);
	if (sr != VK_SUCCESS) {
		pthread_mutex_lock(&sc->lock);
		sc->images[*index].state = IMG_FREE;
		pthread_cond_broadcast(&sc->freed);
		pthread_mutex_unlock(&sc->lock);
		return sr;
	}
	return r;
}

static VKAPI_ATTR VkResult VKAPI_CALL AcquireNextImageKHR(VkDevice device, VkSwapchainKHR h,
							  uint64_t timeout, VkSemaphore sem,
							  VkFence fence, uint32_t *index) {
	struct dev *d = dev_find(key_of(device));
	struct swapchain *sc = sc_find(h);
	if (!sc)
		return d->AcquireNextImageKHR(device, h, timeout, sem, fence, index);
	return acquire(d, sc, timeout, sem, fence, index);
}

static VKAPI_ATTR VkResult VKAPI_CALL AcquireNextImage2KHR(VkDevice device,
							   const VkAcquireNextImageInfoKHR *info,
							   uint32_t *index) {
	struct dev *d = dev_find(key_of(device));
	struct swapchain *sc = sc_find(info->swapchain);
	if (!sc)
		return d->AcquireNextImage2KHR(device, info, index);
	return acquire(d, sc, info->timeout, info->semaphore, info->fence, index);
}

/* record_copy records the image -> buffer copy of every image for the queue family
 * that presents; the images stay in PRESENT_SRC_KHR layout between presents. */
static VkResult record_copy(struct swapchain *sc, uint32_t family) {
	struct dev *d = sc->dev;
	if (sc->pool && sc->pool_family == family)
		return VK_SUCCESS;
	if (sc->pool) { /* presented from another family now: wait for the old copies */
		for (uint32_t k = 0; k < sc->count; k++) {
			pthread_mutex_lock(&sc->lock);
			while (sc->images[k].state == IMG_QUEUED)
				pthread_cond_wait(&sc->freed, &sc->lock);
			pthread_mutex_unlock(&sc->lock);
		}
		d->DestroyCommandPool(d->handle, sc->pool, sc->alloc);
		sc->pool = VK_NULL_HANDLE;
	}
	VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, NULL, 0, family};
	VkResult r = d->CreateCommandPool(d->handle, &pci, sc->alloc, &sc->pool);
	if (r != VK_SUCCESS)
		return r;
	sc->pool_family = family;
	for (uint32_t k = 0; k < sc->count; k++) {
		struct image *img = &sc->images[k];
		VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, NULL,
						  sc->pool, VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
		if ((r = d->AllocateCommandBuffers(d->handle, &ai, &img->copy)) != VK_SUCCESS)
			return r;
		d->set_loader_data(d->handle, img->copy);
		VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, NULL, 0,
					       NULL};
		if ((r = d->BeginCommandBuffer(img->copy, &bi)) != VK_SUCCESS)
			return r;
		const VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
		VkImageMemoryBarrier to_src = {
		    .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
		    .srcAccessMask = 0,
		    .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
		    .oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
		    .newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
		    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .image = img->image,
		    .subresourceRange = range,
		};
		d->CmdPipelineBarrier(img->copy, VK_PIPELINE_STAGE_TRANSFER_BIT,
				      VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, NULL, 0, NULL, 1,
				      &to_src);
		VkBufferImageCopy region = {
		    .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
		    .imageExtent = {sc->extent.width, sc->extent.height, 1},
		};
		d->CmdCopyImageToBuffer(img->copy, img->image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
					img->buffer, 1, &region);
		VkImageMemoryBarrier back = to_src;
		back.srcAccessMask = 0;
		back.dstAccessMask = 0;
		back.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
		back.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
		VkBufferMemoryBarrier to_host = {
		    .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
		    .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		    .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
		    .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		    .buffer = img->buffer,
		    .size = VK_WHOLE_SIZE,
		};
		d->CmdPipelineBarrier(img->copy, VK_PIPELINE_STAGE_TRANSFER_BIT,
				      VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT,
				      0, 0, NULL, 1, &to_host, 1, &back);
		if ((r = d->EndCommandBuffer(img->copy)) != VK_SUCCESS)
			return r;
	}
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL QueuePresentKHR(VkQueue queue, const VkPresentInfoKHR *pi);

/* worse_result keeps the worse of two present results: an error before
 * VK_SUBOPTIMAL_KHR before VK_SUCCESS */
static VkResult worse_result(VkResult worst, VkResult r) {
	return (r < 0 ? worst >= 0 : worst == VK_SUCCESS) ? r : worst;
}

/* present_mixed presents, in one call of the app's, swapchains of the layer's and of the
 * driver's (windows the driver presents to and windows it cannot, on one device): the
 * layer's first, its copy waiting on the app's semaphores, then, once the queue has
 * done that wait (a fence, waited for here), the driver's, waiting on nothing more.
 * The app's pNext chain, whose arrays are per swapchain (present regions, a hint), is
 * not handed on. */
static VkResult present_mixed(struct dev *d, VkQueue queue, const VkPresentInfoKHR *pi) {
	uint32_t n = pi->swapchainCount, nl = 0, nd = 0;
	VkSwapchainKHR lh[n], dh[n];
	uint32_t li[n], di[n];
	VkResult lr[n], dr[n];
	bool ours[n];
	for (uint32_t k = 0; k < n; k++) {
		ours[k] = sc_find(pi->pSwapchains[k]) != NULL;
		if (ours[k]) {
			lh[nl] = pi->pSwapchains[k];
			li[nl++] = pi->pImageIndices[k];
		} else {
			dh[nd] = pi->pSwapchains[k];
			di[nd++] = pi->pImageIndices[k];
		}
	}
	VkPresentInfoKHR mine = {VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, NULL, pi->waitSemaphoreCount,
				 pi->pWaitSemaphores, nl, lh, li, lr};
	VkResult r = QueuePresentKHR(queue, &mine);
	/* a lost or resized window of the layer's still has its frame queued; anything else
	 * failed before the copy was submitted */
	if (r < 0 && r != VK_ERROR_SURFACE_LOST_KHR && r != VK_ERROR_OUT_OF_DATE_KHR)
		return r;
	/* the driver's present waits for what the app's semaphores stood for on the CPU:
	 * they are the layer's copy's to wait on now */
	VkFence done;
	VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, NULL, 0};
	VkQueue sq = d->xfer ? d->xfer : queue;
	if ((r = d->CreateFence(d->handle, &fci, NULL, &done)) != VK_SUCCESS)
		return r;
	pthread_mutex_lock(&d->queue_lock);
	r = d->QueueSubmit(sq, 0, NULL, done);
	pthread_mutex_unlock(&d->queue_lock);
	if (r == VK_SUCCESS)
		r = d->WaitForFences(d->handle, 1, &done, VK_TRUE, UINT64_MAX);
	d->DestroyFence(d->handle, done, NULL);
	if (r != VK_SUCCESS)
		return r;
	VkPresentInfoKHR theirs = {VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, NULL, 0, NULL, nd, dh, di, dr};
	VkResult worst = d->QueuePresentKHR(queue, &theirs);
	for (uint32_t k = 0, l = 0, m = 0; k < n; k++) {
		VkResult res = ours[k] ? lr[l++] : dr[m++];
		if (pi->pResults)
			pi->pResults[k] = res;
		worst = worse_result(worst, res);
	}
	return worst;
}

static VKAPI_ATTR VkResult VKAPI_CALL QueuePresentKHR(VkQueue queue, const VkPresentInfoKHR *pi) {
	struct dev *d = dev_find(key_of(queue));
	if (books_open(d)) {
		VkResult r = settle(d, queue, pi->pWaitSemaphores, pi->waitSemaphoreCount);
		if (r != VK_SUCCESS)
			return r;
	}
	if (pi->swapchainCount == 0)
		return VK_SUCCESS;
	uint32_t nours = 0;
	for (uint32_t k = 0; k < pi->swapchainCount; k++)
		nours += sc_find(pi->pSwapchains[k]) != NULL;
	if (nours == 0)
		return d->QueuePresentKHR(queue, pi);
	if (nours < pi->swapchainCount)
		return present_mixed(d, queue, pi);
	/* the copy runs on the layer's transfer queue where there is one, else on the
	 * app's, after the app's wait semaphores either way */
	VkQueue sq = d->xfer ? d->xfer : queue;
	uint32_t family = d->xfer ? d->xfer_family : queue_family(d, queue);
	uint32_t n = pi->swapchainCount, ncmd = 0;
	VkCommandBuffer cmds[n];
	struct swapchain *scs[n];
	VkResult worst = VK_SUCCESS;
	for (uint32_t k = 0; k < n; k++) {
		scs[k] = sc_find(pi->pSwapchains[k]);
		if (!scs[k])
			return VK_ERROR_SURFACE_LOST_KHR;
		if (scs[k]->copy) {
			VkResult r = record_copy(scs[k], family);
			if (r != VK_SUCCESS)
				return r;
			cmds[ncmd++] = scs[k]->images[pi->pImageIndices[k]].copy;
		}
	}
	VkPipelineStageFlags stages[pi->waitSemaphoreCount ? pi->waitSemaphoreCount : 1];
	for (uint32_t k = 0; k < pi->waitSemaphoreCount; k++)
		stages[k] = VK_PIPELINE_STAGE_TRANSFER_BIT;
	VkSubmitInfo si = {
	    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
	    .waitSemaphoreCount = pi->waitSemaphoreCount,
	    .pWaitSemaphores = pi->pWaitSemaphores,
	    .pWaitDstStageMask = stages,
	    .commandBufferCount = ncmd,
	    .pCommandBuffers = cmds,
	};
	pthread_mutex_lock(&d->queue_lock);
	/* a fence signal covers all earlier work on the queue: one per swapchain's image */
	VkResult r = d->QueueSubmit(sq, 1, &si, scs[0]->images[pi->pImageIndices[0]].fence);
	for (uint32_t k = 1; k < n && r == VK_SUCCESS; k++)
		r = d->QueueSubmit(sq, 0, NULL, scs[k]->images[pi->pImageIndices[k]].fence);
	pthread_mutex_unlock(&d->queue_lock);
	if (r != VK_SUCCESS)
		return r;
	for (uint32_t k = 0; k < n; k++) {
		struct swapchain *sc = scs[k];
		pthread_mutex_lock(&sc->lock);
		sc->images[pi->pImageIndices[k]].state = IMG_QUEUED;
		sc->fifo[sc->fifo_len++] = pi->pImageIndices[k];
		pthread_cond_signal(&sc->work);
		VkResult res = sc->status;
		pthread_mutex_unlock(&sc->lock);
		if (pi->pResults)
			pi->pResults[k] = res;
		worst = worse_result(worst, res);
	}
	return worst;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetDeviceGroupPresentCapabilitiesKHR(
    VkDevice device, VkDeviceGroupPresentCapabilitiesKHR *caps) {
	(void)device;
	memset(caps->presentMask, 0, sizeof caps->presentMask);
	caps->presentMask[0] = 1;
	caps->modes = VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
	return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL GetDeviceGroupSurfacePresentModesKHR(
    VkDevice device, VkSurfaceKHR surface, VkDeviceGroupPresentModeFlagsKHR *modes) {
	struct dev *d = dev_find(key_of(device));
	struct surf s;
	if (!copied(d->phys, surface, &s))
		return d->GetDeviceGroupSurfacePresentModesKHR(device, surface, modes);
	*modes = VK_DEVICE_GROUP_PRESENT_MODE_LOCAL_BIT_KHR;
	return VK_SUCCESS;
}

/* The app may name or tag any handle it has (VK_EXT_debug_utils, VK_EXT_debug_marker),
 * a swapchain of the layer's too: nothing below the layer knows that handle (a driver
 * that looks the object up would take the layer's swapchain for one of its own), so
 * the name stops here. */
static bool layer_swapchain(uint64_t type, uint64_t debug_report_type, uint64_t handle) {
	return (type == VK_OBJECT_TYPE_SWAPCHAIN_KHR ||
		debug_report_type == VK_DEBUG_REPORT_OBJECT_TYPE_SWAPCHAIN_KHR_EXT) &&
	       sc_find((VkSwapchainKHR)(uintptr_t)handle) != NULL;
}

static VKAPI_ATTR VkResult VKAPI_CALL
SetDebugUtilsObjectNameEXT(VkDevice device, const VkDebugUtilsObjectNameInfoEXT *info) {
	if (layer_swapchain(info->objectType, 0, info->objectHandle))
		return VK_SUCCESS;
	return dev_find(key_of(device))->SetDebugUtilsObjectNameEXT(device, info);
}

static VKAPI_ATTR VkResult VKAPI_CALL
SetDebugUtilsObjectTagEXT(VkDevice device, const VkDebugUtilsObjectTagInfoEXT *info) {
	if (layer_swapchain(info->objectType, 0, info->objectHandle))
		return VK_SUCCESS;
	return dev_find(key_of(device))->SetDebugUtilsObjectTagEXT(device, info);
}

static VKAPI_ATTR VkResult VKAPI_CALL
DebugMarkerSetObjectNameEXT(VkDevice device, const VkDebugMarkerObjectNameInfoEXT *info) {
	if (layer_swapchain(0, info->objectType, info->object))
		return VK_SUCCESS;
	return dev_find(key_of(device))->DebugMarkerSetObjectNameEXT(device, info);
}

static VKAPI_ATTR VkResult VKAPI_CALL
DebugMarkerSetObjectTagEXT(VkDevice device, const VkDebugMarkerObjectTagInfoEXT *info) {
	if (layer_swapchain(0, info->objectType, info->object))
		return VK_SUCCESS;
	return dev_find(key_of(device))->DebugMarkerSetObjectTagEXT(device, info);
}

/* ---- entry points ---- */

static PFN_vkVoidFunction device_fn(const char *name) {
#define FN(n)                                                                                  \
	if (strcmp(name, "vk" #n) == 0)                                                        \
		return (PFN_vkVoidFunction)n;
	FN(DestroyDevice)
	FN(QueueSubmit)
	FN(QueueSubmit2)
	FN(QueueSubmit2KHR)
	FN(QueueBindSparse)
	FN(WaitForFences)
	FN(GetFenceStatus)
	FN(ResetFences)
	FN(DestroyFence)
	FN(DestroySemaphore)
	FN(GetDeviceQueue)
	FN(GetDeviceQueue2)
	FN(CreateSwapchainKHR)
	FN(DestroySwapchainKHR)
	FN(GetSwapchainImagesKHR)
	FN(AcquireNextImageKHR)
	FN(AcquireNextImage2KHR)
	FN(QueuePresentKHR)
	FN(GetDeviceGroupPresentCapabilitiesKHR)
	FN(GetDeviceGroupSurfacePresentModesKHR)
	FN(CreateImage)
	FN(BindImageMemory2)
	FN(BindImageMemory2KHR)
	FN(SetDebugUtilsObjectNameEXT)
	FN(SetDebugUtilsObjectTagEXT)
	FN(DebugMarkerSetObjectNameEXT)
	FN(DebugMarkerSetObjectTagEXT)
	return NULL;
}

/* the entry points that keep the books of acquire's signals: not needed on a device
 * whose acquire imports sync files */
static bool books_fn(const char *name) {
	static const char *const fns[] = {
	    "vkQueueSubmit",  "vkQueueSubmit2", "vkQueueSubmit2KHR",   "vkQueueBindSparse",
	    "vkWaitForFences", "vkGetFenceStatus", "vkResetFences", "vkDestroyFence",
	    "vkDestroySemaphore"};
	for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++)
		if (strcmp(name, fns[k]) == 0)
			return true;
	return false;
}

/* the entry points the layer intercepts that a device may not have */
static bool may_lack(const char *name) {
	static const char *const fns[] = {
	    "vkQueueSubmit2", "vkQueueSubmit2KHR", "vkBindImageMemory2", "vkBindImageMemory2KHR",
	    "vkSetDebugUtilsObjectNameEXT",
	    "vkSetDebugUtilsObjectTagEXT", "vkDebugMarkerSetObjectNameEXT",
	    "vkDebugMarkerSetObjectTagEXT"};
	for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++)
		if (strcmp(name, fns[k]) == 0)
			return true;
	return false;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL xinit_GetDeviceProcAddr(VkDevice device,
									 const char *name) {
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)xinit_GetDeviceProcAddr;
	struct dev *d = device ? dev_find(key_of(device)) : NULL;
	if (d && d->sync_fd && books_fn(name))
		return d->GetDeviceProcAddr(device, name);
	/* a device left to the driver: its own entry points, but for the two that keep the
	 * layer's books of devices and say why a swapchain fails */
	if (d && d->pass && strcmp(name, "vkDestroyDevice") != 0 &&
	    strcmp(name, "vkCreateSwapchainKHR") != 0)
		return d->GetDeviceProcAddr(device, name);
	PFN_vkVoidFunction f = device_fn(name);
	if (f) {
		/* an entry point the device does not have stays absent */
		if (d && may_lack(name) && !d->GetDeviceProcAddr(device, name))
			return NULL;
		return f;
	}
	return d ? d->GetDeviceProcAddr(device, name) : NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL xinit_GetInstanceProcAddr(VkInstance instance,
									   const char *name) {
	if (strcmp(name, "vkGetInstanceProcAddr") == 0)
		return (PFN_vkVoidFunction)xinit_GetInstanceProcAddr;
	if (strcmp(name, "vkGetDeviceProcAddr") == 0)
		return (PFN_vkVoidFunction)xinit_GetDeviceProcAddr;
	FN(CreateInstance)
	FN(DestroyInstance)
	FN(CreateDevice)
	FN(CreateXcbSurfaceKHR)
	FN(CreateXlibSurfaceKHR)
	FN(DestroySurfaceKHR)
	FN(GetPhysicalDeviceXcbPresentationSupportKHR)
	FN(GetPhysicalDeviceXlibPresentationSupportKHR)
	FN(GetPhysicalDeviceSurfaceSupportKHR)
	FN(GetPhysicalDeviceSurfaceCapabilitiesKHR)
	FN(GetPhysicalDeviceSurfaceCapabilities2KHR)
	FN(GetPhysicalDeviceSurfaceFormatsKHR)
	FN(GetPhysicalDeviceSurfaceFormats2KHR)
	FN(GetPhysicalDeviceSurfacePresentModesKHR)
	FN(GetPhysicalDevicePresentRectanglesKHR)
	FN(EnumerateDeviceExtensionProperties)
	if (strcmp(name, "vkGetPhysicalDeviceFeatures2") == 0) {
		struct inst *i = instance ? inst_find(key_of(instance)) : NULL;
		return i && i->GetPhysicalDeviceFeatures2 ? (PFN_vkVoidFunction)GetPhysicalDeviceFeatures2
							 : NULL;
	}
	if (strcmp(name, "vkGetPhysicalDeviceFeatures2KHR") == 0) {
		struct inst *i = instance ? inst_find(key_of(instance)) : NULL;
		return i && i->GetPhysicalDeviceFeatures2KHR
			   ? (PFN_vkVoidFunction)GetPhysicalDeviceFeatures2KHR
			   : NULL;
	}
	PFN_vkVoidFunction f = device_fn(name);
	if (f)
		return f;
	if (!instance)
		return NULL;
	struct inst *i = inst_find(key_of(instance));
	return i ? i->gipa(instance, name) : NULL;
}

EXPORT VKAPI_ATTR VkResult VKAPI_CALL
vkNegotiateLoaderLayerInterfaceVersion(VkNegotiateLayerInterface *v) {
	if (v->loaderLayerInterfaceVersion < 2)
		return VK_ERROR_INITIALIZATION_FAILED;
	v->loaderLayerInterfaceVersion = 2;
	v->pfnGetInstanceProcAddr = xinit_GetInstanceProcAddr;
	v->pfnGetDeviceProcAddr = xinit_GetDeviceProcAddr;
	v->pfnGetPhysicalDeviceProcAddr = NULL;
	return VK_SUCCESS;
}
